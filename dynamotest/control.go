package dynamotest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// ControlPrefix starts the path of every route of the control API, which the API host
// serves beside the Dynamo API. The real API's paths all start with /v1, so no
// request meant for the service can reach the control API.
const ControlPrefix = "/_dynamotest/"

// maxControlBody bounds what the control API reads of a request body.
const maxControlBody = 8 << 20

// ControlHandler returns the handler of the control API: the Server's seeding,
// driving, fault and inspection methods over HTTP, with JSON in and out, for tests
// that are not written in Go or that run the fake in another process. The API host
// serves it under ControlPrefix without credentials; the handler expects the whole
// path, ControlPrefix included, and answers 404 to any other. Requests to the control
// API are not recorded in Requests. The routes are listed in the package doc.
//
// A refusal is a 4xx answer with a JSON body {"message": "..."}: 400 for a body that
// is not the route's JSON (an unknown field is named) or a value a Go method would
// panic on, 404 for an unknown path, batch, task or hold, 405 with Allow for another
// method.
func (s *Server) ControlHandler() http.Handler {
	return http.HandlerFunc(s.serveControl)
}

// controlRoute is one path of the control API: what it does on GET (and HEAD) and
// on POST; nil where it answers 405.
type controlRoute struct {
	get, post func(r *http.Request) *reply
}

// allow is the route's Allow header.
func (rt controlRoute) allow() string {
	var methods []string
	if rt.get != nil {
		methods = append(methods, "GET", "HEAD")
	}
	if rt.post != nil {
		methods = append(methods, "POST")
	}
	return strings.Join(methods, ", ")
}

// handler returns what the route does for method; nil if it has no such method.
func (rt controlRoute) handler(method string) func(r *http.Request) *reply {
	switch method {
	case http.MethodGet, http.MethodHead:
		return rt.get
	case http.MethodPost:
		return rt.post
	}
	return nil
}

// controlEndpoint finds the control route r's path names.
func (s *Server) controlEndpoint(r *http.Request) (controlRoute, bool) {
	segs, ok := segments(r)
	if !ok || len(segs) < 2 || "/"+segs[0]+"/" != ControlPrefix {
		return controlRoute{}, false
	}
	segs = segs[1:]
	get := func(h func() *reply) (controlRoute, bool) {
		return controlRoute{get: func(*http.Request) *reply { return h() }}, true
	}
	post := func(h func(r *http.Request) *reply) (controlRoute, bool) {
		return controlRoute{post: h}, true
	}
	switch {
	case len(segs) == 1 && segs[0] == "batches":
		return controlRoute{get: s.controlBatches, post: s.controlSeedBatch}, true
	case len(segs) == 2 && segs[0] == "batches":
		return get(func() *reply { return s.controlBatch(segs[1]) })
	case len(segs) == 3 && segs[0] == "batches" && segs[2] == "complete":
		return post(func(r *http.Request) *reply { return s.controlCompleteBatch(r, segs[1]) })
	case len(segs) == 5 && segs[0] == "batches" && segs[2] == "tasks":
		if drive, ok := s.batchTaskDrivers()[segs[4]]; ok {
			return post(func(r *http.Request) *reply { return drive(r, segs[1], segs[3]) })
		}
	case len(segs) == 1 && segs[0] == "tasks":
		return controlRoute{get: s.controlTasks, post: s.controlSeedTask}, true
	case len(segs) == 2 && segs[0] == "tasks":
		return get(func() *reply { return s.controlTask(segs[1]) })
	case len(segs) == 3 && segs[0] == "tasks":
		if drive, ok := s.taskDrivers()[segs[2]]; ok {
			return post(func(r *http.Request) *reply { return drive(r, segs[1]) })
		}
	case len(segs) == 1 && segs[0] == "faults":
		return post(s.controlInject)
	case len(segs) == 3 && segs[0] == "holds" && segs[2] == "release":
		return post(func(r *http.Request) *reply { return s.controlRelease(r, segs[1]) })
	case len(segs) == 1 && segs[0] == "requests":
		return get(func() *reply { return requestsReply(s.Requests()) })
	case len(segs) == 1 && segs[0] == "storage-requests":
		return get(func() *reply { return requestsReply(s.StorageRequests()) })
	case len(segs) == 1 && segs[0] == "reset":
		return post(s.controlReset)
	case len(segs) == 1 && segs[0] == "clock":
		return controlRoute{get: func(*http.Request) *reply { return s.clockReply() }, post: s.controlAdvance}, true
	}
	return controlRoute{}, false
}

// serveControl answers a request to the control API.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.controlEndpoint(r)
	var rep *reply
	switch h := rt.handler(r.Method); {
	case !ok:
		rep = errorReply(http.StatusNotFound, "no such control path: %s (see the dynamotest package doc)", r.URL.EscapedPath())
	case h == nil:
		rep = errorReply(http.StatusMethodNotAllowed, "method %s is not allowed on %s: use %s", r.Method, r.URL.EscapedPath(), rt.allow())
		rep.header.Set("Allow", rt.allow())
	default:
		rep = catchMisuse(func() *reply { return h(r) })
	}
	rep.write(w)
}

// catchMisuse runs h, answering a panic of the Server's methods on misuse (a string
// that starts with "dynamotest: ") as the refusal it stands for: 404 for an unknown
// batch or task, 400 for the rest. Any other panic goes on.
func catchMisuse(h func() *reply) (rep *reply) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		msg, ok := v.(string)
		if !ok || !strings.HasPrefix(msg, "dynamotest: ") {
			panic(v)
		}
		msg = strings.TrimPrefix(msg, "dynamotest: ")
		status := http.StatusBadRequest
		if strings.Contains(msg, ": unknown batch ") || strings.Contains(msg, ": unknown task ") || strings.Contains(msg, " has no task ") {
			status = http.StatusNotFound
		}
		rep = errorReply(status, "%s", msg)
	}()
	return h()
}

// decodeControl decodes r's body, if it has one, into v: one JSON value with no field
// v does not have. An empty body leaves v as it is.
func decodeControl(r *http.Request, v any) *reply {
	body, err := readLimited(r.Body, maxControlBody)
	if errors.Is(err, errTooLarge) {
		return errorReply(http.StatusRequestEntityTooLarge, "the request body exceeds %d bytes", maxControlBody)
	}
	if err != nil {
		return errorReply(http.StatusBadRequest, "reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorReply(http.StatusBadRequest, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorReply(http.StatusBadRequest, "invalid request body: more than one JSON value")
	}
	return nil
}

func (s *Server) controlBatches(*http.Request) *reply {
	batches := s.Batches()
	out := make([]batchJSONBody, len(batches))
	for i, b := range batches {
		out[i] = batchOf(b)
	}
	return jsonReply(http.StatusOK, map[string]any{"batches": out})
}

func (s *Server) controlBatch(id string) *reply {
	b, ok := s.Batch(id)
	if !ok {
		return errorReply(http.StatusNotFound, "unknown batch %q", id)
	}
	return jsonReply(http.StatusOK, batchOf(b))
}

func (s *Server) controlSeedBatch(r *http.Request) *reply {
	var in batchSeedJSON
	if rep := decodeControl(r, &in); rep != nil {
		return rep
	}
	seed, rep := in.seed()
	if rep != nil {
		return rep
	}
	id, tasks := s.SeedBatch(seed)
	return jsonReply(http.StatusCreated, map[string]any{"id": id, "tasks": tasks})
}

func (s *Server) controlCompleteBatch(r *http.Request, id string) *reply {
	if rep := decodeControl(r, &struct{}{}); rep != nil {
		return rep
	}
	s.CompleteBatch(id)
	return s.controlBatch(id)
}

// batchTaskDrivers are the actions on a batch's task, by the last segment of their path.
func (s *Server) batchTaskDrivers() map[string]func(r *http.Request, batchID, taskID string) *reply {
	return map[string]func(r *http.Request, batchID, taskID string) *reply{
		"start": func(r *http.Request, batchID, taskID string) *reply {
			if rep := decodeControl(r, &struct{}{}); rep != nil {
				return rep
			}
			s.StartBatchTask(batchID, taskID)
			return s.controlBatchTask(batchID, taskID)
		},
		"complete": func(r *http.Request, batchID, taskID string) *reply {
			results, rep := decodeResults(r)
			if rep != nil {
				return rep
			}
			s.CompleteBatchTask(batchID, taskID, results...)
			return s.controlBatchTask(batchID, taskID)
		},
		"fail": func(r *http.Request, batchID, taskID string) *reply {
			var in failJSON
			if rep := decodeControl(r, &in); rep != nil {
				return rep
			}
			s.FailBatchTask(batchID, taskID, in.Message)
			return s.controlBatchTask(batchID, taskID)
		},
	}
}

// controlBatchTask answers with a snapshot of a batch's task.
func (s *Server) controlBatchTask(batchID, taskID string) *reply {
	b, ok := s.Batch(batchID)
	if !ok {
		return errorReply(http.StatusNotFound, "unknown batch %q", batchID)
	}
	for _, t := range b.Tasks {
		if t.ID == taskID {
			return jsonReply(http.StatusOK, batchTaskOf(t))
		}
	}
	return errorReply(http.StatusNotFound, "batch %q has no task %q", batchID, taskID)
}

func (s *Server) controlTasks(*http.Request) *reply {
	tasks := s.Tasks()
	out := make([]taskJSONBody, len(tasks))
	for i, t := range tasks {
		out[i] = taskOf(t)
	}
	return jsonReply(http.StatusOK, map[string]any{"tasks": out})
}

func (s *Server) controlTask(id string) *reply {
	t, ok := s.Task(id)
	if !ok {
		return errorReply(http.StatusNotFound, "unknown task %q", id)
	}
	return jsonReply(http.StatusOK, taskOf(t))
}

func (s *Server) controlSeedTask(r *http.Request) *reply {
	var in taskSeedBodyJSON
	if rep := decodeControl(r, &in); rep != nil {
		return rep
	}
	seed, rep := in.seed()
	if rep != nil {
		return rep
	}
	id := s.SeedTask(seed)
	return jsonReply(http.StatusCreated, map[string]any{"id": id})
}

// taskDrivers are the actions on a Task API task, by the last segment of their path.
func (s *Server) taskDrivers() map[string]func(r *http.Request, taskID string) *reply {
	plain := func(drive func(taskID string)) func(r *http.Request, taskID string) *reply {
		return func(r *http.Request, taskID string) *reply {
			if rep := decodeControl(r, &struct{}{}); rep != nil {
				return rep
			}
			drive(taskID)
			return s.controlTask(taskID)
		}
	}
	return map[string]func(r *http.Request, taskID string) *reply{
		"queue": plain(s.QueueTask),
		"start": plain(s.StartTask),
		"complete": func(r *http.Request, taskID string) *reply {
			results, rep := decodeResults(r)
			if rep != nil {
				return rep
			}
			s.CompleteTask(taskID, results...)
			return s.controlTask(taskID)
		},
		"fail": func(r *http.Request, taskID string) *reply {
			var in failJSON
			if rep := decodeControl(r, &in); rep != nil {
				return rep
			}
			s.FailTask(taskID, in.Message)
			return s.controlTask(taskID)
		},
	}
}

func decodeResults(r *http.Request) ([]ResultFile, *reply) {
	var in completeJSON
	if rep := decodeControl(r, &in); rep != nil {
		return nil, rep
	}
	return in.files()
}

func (s *Server) controlInject(r *http.Request) *reply {
	var in injectJSON
	if rep := decodeControl(r, &in); rep != nil {
		return rep
	}
	if len(in.Faults) == 0 {
		return errorReply(http.StatusBadRequest, "faults: give at least one fault")
	}
	// Inject with no fault only checks the route: it panics on an unknown one,
	// which catchMisuse answers 400, before any hold is made.
	s.Inject(Route(in.Route))
	faults := make([]Fault, len(in.Faults))
	for i, fj := range in.Faults {
		f, err := fj.fault()
		if err != "" {
			return errorReply(http.StatusBadRequest, "faults[%d]: %s", i, err)
		}
		if fj.Hold != "" {
			f.Hold = standInHold // the hold is made only once every fault passed
		}
		if msg := f.misuse(); msg != "" {
			return errorReply(http.StatusBadRequest, "faults[%d]: %s", i, msg)
		}
		faults[i] = f
	}
	for i, fj := range in.Faults {
		if fj.Hold != "" {
			faults[i].Hold = s.hold(fj.Hold)
		}
	}
	s.Inject(Route(in.Route), faults...)
	return jsonReply(http.StatusOK, map[string]any{"route": in.Route, "queued": len(faults)})
}

// standInHold stands in for a named hold while a fault is checked as written.
var standInHold = make(chan struct{})

// hold returns the channel of the named hold, made on first use; s.mu is not held.
func (s *Server) hold(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.holds[name]
	if !ok {
		ch = make(chan struct{})
		s.holds[name] = ch
	}
	return ch
}

func (s *Server) controlRelease(r *http.Request, name string) *reply {
	if rep := decodeControl(r, &struct{}{}); rep != nil {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.holds[name]
	if !ok {
		return errorReply(http.StatusNotFound, "unknown hold %q: no fault names it", name)
	}
	delete(s.holds, name)
	close(ch)
	return jsonReply(http.StatusOK, map[string]any{"released": name})
}

func (s *Server) controlReset(r *http.Request) *reply {
	if rep := decodeControl(r, &struct{}{}); rep != nil {
		return rep
	}
	s.Reset()
	return jsonReply(http.StatusOK, map[string]any{})
}

func (s *Server) controlAdvance(r *http.Request) *reply {
	var in clockJSON
	if rep := decodeControl(r, &in); rep != nil {
		return rep
	}
	if in.Advance == "" {
		return errorReply(http.StatusBadRequest, `advance: give a duration such as "90s" or "25h"`)
	}
	d, err := time.ParseDuration(in.Advance)
	if err != nil {
		return errorReply(http.StatusBadRequest, "advance: %v", err)
	}
	s.AdvanceClock(d)
	return s.clockReply()
}

func (s *Server) clockReply() *reply {
	return jsonReply(http.StatusOK, map[string]string{"now": formatTime(s.cfg.now())})
}
