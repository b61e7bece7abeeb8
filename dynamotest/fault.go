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
	// RouteBatchTaskStatus is the API's route for the status of a batch's task.
	RouteBatchTaskStatus Route = "GET /v1/batch/{batchId}/{taskId}"
	// RoutePostTask is the Task API's posting route.
	RoutePostTask Route = "POST /v1/task"
	// RouteGetTask is the Task API's task status route.
	RouteGetTask Route = "GET /v1/task/{taskId}"
	// RouteDownload is the storage host's route for the result files of a batch's
	// tasks.
	RouteDownload Route = "GET storage"
	// RouteDownloadTask is the storage host's route for the result files of Task API
	// tasks.
	RouteDownloadTask Route = "GET storage task"
)

// Fault describes how the fake misbehaves for one request. The zero Fault handles the
// request normally. When several fields are set they act in this order: Delay, then
// DropBeforeRead, then Hang, then Status (or, without Status, the normal handling and
// SuccessStatus), then Header, then Hold, and DropAfterAccept last.
type Fault struct {
	// Delay waits this long before acting. A client that goes away or Close ends the
	// wait, and the connection is dropped without an answer.
	Delay time.Duration
	// DropBeforeRead closes the connection at once, before reading the body; nothing
	// is created.
	DropBeforeRead bool
	// Hang reads the request body, then never answers until the client goes away or
	// the server is closed; the connection is then dropped. Nothing is created.
	Hang bool
	// Status, when not zero, answers with this status code, Header and Body instead
	// of handling the request. The request body is not read and nothing is created.
	Status int
	// Body is the answer's body for Status. By default it is a JSON object
	// {"message": http.StatusText(Status)}.
	Body string
	// SuccessStatus, when not zero, replaces the status code of a normally handled
	// request's success answer (such as the documented 202 of a post) with this 2xx
	// code; the body stays, except that 204 carries none. A refusal keeps its code.
	SuccessStatus int
	// Header holds headers to add to the answer, such as Retry-After; they are added
	// to a normal answer too when Status is zero.
	Header http.Header
	// Hold, when not nil, handles the request (a post is accepted and stored), reads
	// the rest of its body, then waits until Hold is closed before answering. A
	// client that goes away or Close ends the wait, and the connection is dropped
	// without an answer.
	Hold <-chan struct{}
	// DropAfterAccept handles the request normally (a posted batch or task is
	// created) and then closes the connection without writing any answer.
	DropAfterAccept bool
}

// Inject queues faults for a route. Each queued fault is consumed, in order, by exactly
// one request that arrives on that route (method and path), whatever its credentials;
// a request to a path or with a method the route does not have consumes none. Inject
// panics on an unknown route and on a fault that cannot act as written: a negative
// Delay, a Status outside 100-599, a SuccessStatus outside 200-299, Status with
// SuccessStatus (Status replaces the handling whose status SuccessStatus would
// change), Body without Status, or Hang with Hold or DropAfterAccept (Hang never
// gets that far).
func (s *Server) Inject(route Route, faults ...Fault) {
	switch route {
	case RoutePostBatch, RouteBatchStatus, RouteBatchTaskStatus, RoutePostTask, RouteGetTask,
		RouteDownload, RouteDownloadTask:
	default:
		panic(fmt.Sprintf("dynamotest: Inject: unknown route %q", route))
	}
	for i, f := range faults {
		if msg := f.misuse(); msg != "" {
			panic(fmt.Sprintf("dynamotest: Inject(%q): fault %d: %s", route, i, msg))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range faults {
		f.Header = f.Header.Clone()
		s.faults[route] = append(s.faults[route], f)
	}
}

// misuse says what keeps f from acting as written, or "".
func (f Fault) misuse() string {
	switch {
	case f.Delay < 0:
		return fmt.Sprintf("negative Delay %v", f.Delay)
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		return fmt.Sprintf("Status %d is not an HTTP status code", f.Status)
	case f.SuccessStatus != 0 && (f.SuccessStatus < 200 || f.SuccessStatus > 299):
		return fmt.Sprintf("SuccessStatus %d is not a 2xx status code", f.SuccessStatus)
	case f.Status != 0 && f.SuccessStatus != 0:
		return "Status and SuccessStatus together"
	case f.Body != "" && f.Status == 0:
		return "Body without Status"
	case f.Hang && (f.Hold != nil || f.DropAfterAccept):
		return "Hang with Hold or DropAfterAccept"
	}
	return ""
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
