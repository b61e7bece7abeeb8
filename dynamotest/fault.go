package dynamotest

import (
	"fmt"
	"net/http"
	"time"
)

// Route names a route of the fake for fault injection.
type Route string

// The routes faults can be injected on.
const (
	// RoutePostBatch is the API's batch posting route.
	RoutePostBatch Route = "POST /v1/batch"
	// RouteBatchStatus is the API's batch status route.
	RouteBatchStatus Route = "GET /v1/batch/{batchId}"
	// RouteTaskStatus is the API's task status route.
	RouteTaskStatus Route = "GET /v1/batch/{batchId}/{taskId}"
	// RouteDownload is the storage host's result file route.
	RouteDownload Route = "GET storage"
)

// Fault describes how the fake misbehaves for one request. The zero Fault handles the
// request normally. When several fields are set they act in this order: Delay, then
// DropBeforeRead, then Hang, then Status, and DropAfterAccept last.
type Fault struct {
	// Status, when not zero, answers with this status code, Header and Body instead
	// of handling the request. The request body is not read.
	Status int
	// Header holds headers to add to the answer, such as Retry-After. They are added
	// to a normal answer too when Status is zero.
	Header http.Header
	// Body is the answer's body for Status. By default it is a JSON object
	// {"message": http.StatusText(Status)}.
	Body string
	// Delay waits this long before acting. A client that goes away or Close ends the
	// wait, and the connection is dropped without an answer.
	Delay time.Duration
	// Hang reads the request body, then never answers until the client goes away or
	// the server is closed; the connection is then dropped.
	Hang bool
	// DropAfterAccept handles the request normally (a posted batch is created) and
	// then closes the connection without writing any answer.
	DropAfterAccept bool
	// DropBeforeRead closes the connection at once, before reading the body; nothing
	// is created.
	DropBeforeRead bool
}

// Inject queues faults for a route. Each queued fault is consumed, in order, by exactly
// one request that arrives on that route, whatever its credentials. Inject panics on an
// unknown route.
func (s *Server) Inject(route Route, faults ...Fault) {
	switch route {
	case RoutePostBatch, RouteBatchStatus, RouteTaskStatus, RouteDownload:
	default:
		panic(fmt.Sprintf("dynamotest: Inject: unknown route %q", route))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range faults {
		f.Header = f.Header.Clone()
		s.faults[route] = append(s.faults[route], f)
	}
}

// takeFault consumes the next fault queued for route; the zero Fault if none is.
func (s *Server) takeFault(route Route) Fault {
	if route == "" {
		return Fault{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[route]
	if len(q) == 0 {
		return Fault{}
	}
	f := q[0]
	q[0] = Fault{}
	s.faults[route] = q[1:]
	return f
}
