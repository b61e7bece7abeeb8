package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The credentials both clients send; the server refuses any others.
const (
	tenantID = "00D5g000004QdDeEAK"
	apiKey   = "bench-api-key-0123456789abcdef"
)

// The IDs the server knows. Any task ID is answered with the same status.
const (
	smallBatchID = "074608c2393f272d31870bd0e01f9652" // a 10-task batch
	largeBatchID = "9b1f0c4e7d2a48f3a6c1e5b7d9f20a13" // BatchTaskStatuses' batch
	apiTaskID    = "t-223e5458ec7f9a57802e3e31deba48cb"
)

// answer is a pre-encoded answer: the server does no encoding while it is
// measured, so its cost per request is the same whichever client asks.
type answer struct {
	status int
	body   []byte
	length []string // the Content-Length header's value; net/http only reads it
}

func newAnswer(status int, v any) *answer {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &answer{status: status, body: body, length: []string{strconv.Itoa(len(body))}}
}

// apiServer answers the calls of the batch API and the Task API as the real
// service does (202 with the documented body for a post, 200 with a status
// body for a GET, 401 without the right credentials, 404 for an unknown
// batch), from answers encoded in advance. It reads every request body to
// the end and checks nothing else of it: the wire check (wire.go) compares
// what the two clients send.
type apiServer struct {
	*httptest.Server
	batchStatus map[string]*answer // by batch ID
	taskStatus  *answer            // a batch's task
	apiTask     *answer            // a Task API task
	postTask    *answer
	unknown     *answer // 404
	refused     *answer // 401

	mu        sync.Mutex
	postBatch map[int]*answer // by task count, made on demand
	// posted is the answer to POST /v1/batch: a benchmark case sets the
	// task count its posts hold, since the answer lists one ID per task.
	posted atomic.Pointer[answer]

	// capture, when set, receives every request with its body, for the
	// wire check. It is nil while anything is measured.
	capture atomic.Pointer[func(r *http.Request, body []byte)]
}

func newAPIServer(largeTasks int) *apiServer {
	s := &apiServer{
		batchStatus: map[string]*answer{
			smallBatchID: newAnswer(http.StatusOK, batchStatusBody(10)),
			largeBatchID: newAnswer(http.StatusOK, batchStatusBody(largeTasks)),
		},
		taskStatus: newAnswer(http.StatusOK, taskStatusBody(false)),
		apiTask:    newAnswer(http.StatusOK, taskStatusBody(true)),
		postTask: newAnswer(http.StatusAccepted, map[string]any{
			"taskID": apiTaskID, "message": "Success",
			"usage": map[string]any{
				"api":     map[string]int{"term": 4211, "termMax": 10000},
				"signing": map[string]int{"term": 17, "termMax": 500},
			},
		}),
		unknown:   newAnswer(http.StatusNotFound, map[string]string{"message": "Not found"}),
		refused:   newAnswer(http.StatusUnauthorized, map[string]string{"message": "Unauthorized"}),
		postBatch: map[int]*answer{},
	}
	s.Server = httptest.NewServer(s)
	return s
}

// expectTasks makes POST /v1/batch answer for batches of n tasks.
func (s *apiServer) expectTasks(n int) { s.posted.Store(s.acceptedAnswer(n)) }

// acceptedAnswer is the answer to a post of a batch of n tasks.
func (s *apiServer) acceptedAnswer(n int) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.postBatch[n]
	if a == nil {
		a = newAnswer(http.StatusAccepted, batchAcceptedBody(n))
		s.postBatch[n] = a
	}
	return a
}

// Header values shared by every answer; net/http only reads them.
var jsonContentType = []string{"application/json"}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var a *answer
	if capture := s.capture.Load(); capture != nil {
		body, _ := io.ReadAll(r.Body)
		(*capture)(r, body)
		a = s.answerCounted(r, body)
	} else {
		// io.Discard reads through a pooled buffer: no allocation here.
		io.Copy(io.Discard, r.Body)
	}
	switch {
	case r.Header.Get("X-Dynamo-Tenant-Id") != tenantID || r.Header.Get("X-Dynamo-Api-Key") != apiKey:
		a = s.refused
	case a == nil:
		a = s.route(r.Method, r.URL.Path)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = a.length
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// answerCounted answers a JSON batch post with as many task IDs as it holds
// tasks, for the wire check, whose bulk job ends with a short chunk; nil for
// any other request.
func (s *apiServer) answerCounted(r *http.Request, body []byte) *answer {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" || r.Header.Get("Content-Type") != "application/json" {
		return nil
	}
	var b struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Tasks) == 0 {
		return nil
	}
	return s.acceptedAnswer(len(b.Tasks))
}

func (s *apiServer) route(method, path string) *answer {
	switch rest, ok := strings.CutPrefix(path, "/v1/batch"); {
	case ok && rest == "" && method == http.MethodPost:
		if a := s.posted.Load(); a != nil {
			return a
		}
	case ok && strings.HasPrefix(rest, "/") && method == http.MethodGet:
		batch, task, isTask := strings.Cut(rest[1:], "/")
		if a := s.batchStatus[batch]; a != nil {
			if !isTask {
				return a
			}
			if task != "" {
				return s.taskStatus
			}
		}
	}
	switch rest, ok := strings.CutPrefix(path, "/v1/task"); {
	case ok && rest == "" && method == http.MethodPost:
		return s.postTask
	case ok && rest == "/"+apiTaskID && method == http.MethodGet:
		return s.apiTask
	}
	return s.unknown
}

// The answers' bodies, shaped like the vendor's examples.

func batchStatusBody(tasks int) map[string]any {
	list := make([]map[string]any, tasks)
	for i := range list {
		list[i] = map[string]any{"id": taskUUID(i), "completed": i%4 != 3, "errors": i%9 == 8}
	}
	return map[string]any{
		"postDateTime":      "2026-03-02T09:14:07.318Z",
		"completed":         false,
		"completedDateTime": nil,
		"errors":            tasks > 8,
		"statusMessage":     "Started",
		"tasks":             list,
	}
}

func taskStatusBody(taskAPI bool) map[string]any {
	const signed = "https://dynamo-results.s3.eu-west-1.amazonaws.com/00D5g000004QdDeEAK/7f3e/Invoice-a0B5g00000XyZ12EAB.pdf" +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260302%2Feu-west-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20260302T091420Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=5d3a3c1f0b2e4a6d8c9f7e1b3a5d7c9e2f4a6b8d0c1e3f5a7b9d1c3e5f7a9b1d"
	st := map[string]any{
		"startDateTime": "2026-03-02T09:14:08.498963Z",
		"endDateTime":   "2026-03-02T09:14:11.616069Z",
		"completed":     true,
		"errors":        false,
		"statusMessage": "Completed",
		"log":           []string{},
		"results":       []string{"Invoice"},
		"resultList":    []map[string]string{{"id": "Invoice", "url": signed}},
	}
	if taskAPI {
		st["startDateTime"] = "2026-03-02T09:14:08.405631389Z"
		st["endDateTime"] = "2026-03-02T09:14:11.781174583Z"
		st["statusMessage"] = "Ready"
		st["statusDescription"] = "Ready"
	}
	return st
}

func batchAcceptedBody(tasks int) map[string]any {
	ids := make([]string, tasks)
	for i := range ids {
		ids[i] = taskUUID(i)
	}
	return map[string]any{"id": smallBatchID, "tasks": ids, "message": "Success", "licenseUsage": tasks}
}

// taskUUID is a task ID in the API's form, distinct for each i.
func taskUUID(i int) string {
	return fmt.Sprintf("%08x-49cf-4089-a09b-%012x", 0x334b2fc3+i, 0xf638fb1f97dc+i*7919)
}
