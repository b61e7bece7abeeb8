package dynamotest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// ctl sends a request to the control API, without credentials, and decodes the JSON
// answer.
func (h *harness) ctl(method, path, body string) (int, map[string]any, http.Header) {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.s.URL+dynamotest.ControlPrefix+path, r)
	require.NoError(h.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, raw := h.do(req)
	assert.Equal(h.t, "application/json", resp.Header.Get("Content-Type"), "%s %s", method, path)
	var m map[string]any
	if method != http.MethodHead {
		require.NoError(h.t, json.Unmarshal(raw, &m), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode, m, resp.Header
}

// mustCtl is ctl for a request that must succeed with want.
func (h *harness) mustCtl(want int, method, path, body string) map[string]any {
	h.t.Helper()
	status, m, _ := h.ctl(method, path, body)
	require.Equal(h.t, want, status, "%s %s: %v", method, path, m)
	return m
}

func TestControlDrivesABatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(3)
	base := "batches/" + a.ID + "/tasks/"

	task := h.mustCtl(200, "POST", base+a.Tasks[0]+"/start", "")
	assert.Equal(t, "running", task["stage"])
	assert.Equal(t, "Running", task["statusMessage"])
	assert.NotEmpty(t, task["startedAt"])

	task = h.mustCtl(200, "POST", base+a.Tasks[0]+"/complete",
		`{"results": [{"id": "Profile", "content": "%PDF-1.7"}, {"id": "Raw", "contentBase64": "AAEC"}]}`)
	assert.Equal(t, "done", task["stage"])
	assert.Equal(t, []any{map[string]any{"id": "Profile", "size": 8.0}, map[string]any{"id": "Raw", "size": 3.0}}, task["results"])
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	urls := resultURLs(t, ts)
	require.Len(t, urls, 2)
	status, content := h.download(urls[0])
	assert.Equal(t, 200, status)
	assert.Equal(t, "%PDF-1.7", string(content))
	_, content = h.download(urls[1])
	assert.Equal(t, []byte{0, 1, 2}, content)

	task = h.mustCtl(200, "POST", base+a.Tasks[1]+"/fail", `{"message": "Template error: no such field"}`)
	assert.Equal(t, "failed", task["stage"])
	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[1])
	assert.Equal(t, "Template error: no such field", ts["statusMessage"])
	assert.Equal(t, true, ts["errors"])

	b := h.mustCtl(200, "POST", "batches/"+a.ID+"/complete", "")
	assert.Equal(t, a.ID, b["id"])
	_, bs := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, true, bs["completed"])
	assert.Equal(t, true, bs["errors"])

	got := h.mustCtl(200, "GET", "batches/"+a.ID, "")
	tasks := got["tasks"].([]any)
	require.Len(t, tasks, 3)
	assert.Equal(t, "done", tasks[2].(map[string]any)["stage"])
	assert.Equal(t, map[string]any{"id": "rec-2"}, tasks[2].(map[string]any)["params"])
	list := h.mustCtl(200, "GET", "batches", "")
	assert.Len(t, list["batches"], 1)
}

func TestControlDrivesATask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPostTask(standaloneTask)
	base := "tasks/" + a.TaskID + "/"
	for _, step := range []struct{ action, stage, message string }{
		{"queue", "queued", "Queued"},
		{"start", "running", "Running"},
		{"complete", "done", "Ready"},
	} {
		task := h.mustCtl(200, "POST", base+step.action, "")
		assert.Equal(t, step.stage, task["stage"], step.action)
		_, st := h.get("/v1/task/" + a.TaskID)
		assert.Equal(t, step.message, st["statusMessage"], step.action)
	}
	h.mustCtl(200, "POST", base+"complete", `{"results": [{"id": "Doc", "content": "hello"}]}`)
	_, st := h.get("/v1/task/" + a.TaskID)
	_, content := h.download(resultURLs(t, st)[0])
	assert.Equal(t, "hello", string(content))

	task := h.mustCtl(200, "POST", base+"fail", `{"message": "INVALID_SESSION_ID"}`)
	assert.Equal(t, "failed", task["stage"])
	assert.Equal(t, []any{"SEVERE INVALID_SESSION_ID"}, task["log"])
	_, st = h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, "INVALID_SESSION_ID", st["statusMessage"])

	got := h.mustCtl(200, "GET", "tasks/"+a.TaskID, "")
	assert.Equal(t, map[string]any{"greeting": "hello"}, got["params"])
	assert.Equal(t, "cache-7", got["template"])
	assert.Len(t, h.mustCtl(200, "GET", "tasks", "")["tasks"], 1)
}

func TestControlSeeds(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	seeded := h.mustCtl(201, "POST", "batches", `{"template": "T", "postedAt": "2022-02-10T11:00:00Z", "tasks": [
		{"params": {"id": "001"}},
		{"stage": "running"},
		{"stage": "done", "results": [{"id": "Profile", "content": "x"}]},
		{"stage": "failed", "failure": "Boom"}]}`)
	id := seeded["id"].(string)
	tasks := seeded["tasks"].([]any)
	require.Len(t, tasks, 4)
	_, bs := h.get("/v1/batch/" + id)
	assert.Equal(t, "2022-02-10T11:00:00Z", bs["postDateTime"])
	assert.Equal(t, "Started", bs["statusMessage"])
	_, ts := h.get("/v1/batch/" + id + "/" + tasks[3].(string))
	assert.Equal(t, "Boom", ts["statusMessage"])

	task := h.mustCtl(201, "POST", "tasks", `{"template": "T", "integration": {"type": "Salesforce", "sessionID": "00D!secret", "serverURL": "https://x"},
		"params": {"id": "a0B1"}, "stage": "queued"}`)
	taskID := task["id"].(string)
	_, st := h.get("/v1/task/" + taskID)
	assert.Equal(t, "Queued", st["statusMessage"])
	snap := h.mustCtl(200, "GET", "tasks/"+taskID, "")
	assert.Equal(t, map[string]any{"type": "Salesforce", "sessionID": "[redacted]", "serverURL": "https://x"}, snap["integration"])

	for _, bad := range []struct{ path, body, want string }{
		{"batches", `{"tasks": []}`, "0 tasks"},
		{"batches", `{"tasks": [{"stage": "later"}]}`, `tasks[0].stage: unknown stage "later"`},
		{"batches", `{"tasks": [{"stage": "queued", "failure": "x"}]}`, "only a failed task has one"},
		{"batches", `{"tasks": [{"params": {"locale": "fi"}}]}`, `non-empty string "id"`},
		{"batches", `{"postedAt": "yesterday", "tasks": [{}]}`, "postedAt"},
		{"tasks", `{"integration": {"type": "Salesforce"}, "params": {}}`, `non-empty string "id"`},
		{"tasks", `{"stage": "done", "results": [{"id": "A"}, {"id": "A"}]}`, "given twice"},
	} {
		status, m, _ := h.ctl("POST", bad.path, bad.body)
		assert.Equal(t, http.StatusBadRequest, status, bad.body)
		assert.Contains(t, m["message"], bad.want, bad.body)
	}
	assert.Len(t, h.s.Batches(), 1, "nothing stored by a refused seed")
}

func TestControlFaults(t *testing.T) {
	t.Parallel()
	opt, accepts := onAccept()
	h := newHarness(t, opt)

	h.mustCtl(200, "POST", "faults", `{"route": "POST /v1/batch", "faults": [
		{"status": 503, "header": {"Retry-After": "7"}},
		{"status": 500, "body": "{\"message\":\"internal\"}", "header": {"X-Many": ["a", "b"]}},
		{"successStatus": 201, "delay": "1ms"}]}`)
	status, body := h.postJSON(jsonBatch(1))
	assert.Equal(t, 503, status)
	assert.Equal(t, "Service Unavailable", message(t, body))
	resp, body := h.send("POST", "/v1/batch", "application/json", strings.NewReader(jsonBatch(1)))
	assert.Equal(t, 500, resp.StatusCode)
	assert.Equal(t, "internal", message(t, body))
	assert.Equal(t, []string{"a", "b"}, resp.Header.Values("X-Many"))
	status, _ = h.postJSON(jsonBatch(1))
	assert.Equal(t, 201, status)
	receive(t, accepts)
	assert.Len(t, h.s.Batches(), 1, "only the post the faults let through is stored")

	// dropBeforeRead: no answer, nothing stored; dropAfterAccept: no answer, stored.
	h.mustCtl(200, "POST", "faults", `{"route": "POST /v1/task", "faults": [{"dropBeforeRead": true}, {"dropAfterAccept": true}]}`)
	for _, stored := range []int{0, 1} {
		_, err := h.hc.Do(h.newRequest(context.Background(), "POST", h.s.URL+"/v1/task", strings.NewReader(standaloneTask), "application/json"))
		assert.Error(t, err)
		assert.Len(t, h.s.Tasks(), stored)
	}
	assert.NotNil(t, receive(t, accepts).Task, "the dropped answer's task was accepted")

	// hang: no answer until the client gives up.
	h.mustCtl(200, "POST", "faults", `{"route": "GET /v1/batch/{batchId}", "faults": [{"hang": true}]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := h.hc.Do(h.newRequest(ctx, "GET", h.s.URL+"/v1/batch/x", nil, ""))
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// hold: the post is stored, its answer waits for the release.
	h.mustCtl(200, "POST", "faults", `{"route": "POST /v1/batch", "faults": [{"hold": "h1"}]}`)
	answers := make(chan int, 1)
	go func() {
		resp, _ := h.send("POST", "/v1/batch", "application/json", strings.NewReader(jsonBatch(2)))
		answers <- resp.StatusCode
	}()
	held := receive(t, accepts)
	select {
	case <-answers:
		t.Fatal("answered while held")
	default:
	}
	h.mustCtl(200, "POST", "holds/h1/release", "")
	assert.Equal(t, http.StatusAccepted, receive(t, answers))
	_, ok := h.s.Batch(held.Batch.ID)
	assert.True(t, ok)

	for _, bad := range []struct{ body, want string }{
		{`{"route": "POST /v1/batch", "faults": [{"status": 503, "retry": 2}]}`, `unknown field "retry"`},
		{`{"route": "POST /v2/batch", "faults": [{"status": 503}]}`, `unknown route "POST /v2/batch"`},
		{`{"route": "POST /v1/batch", "faults": []}`, "at least one fault"},
		{`{"route": "POST /v1/batch", "faults": [{"delay": "soon"}]}`, "delay"},
		{`{"route": "POST /v1/batch", "faults": [{"delay": "-1s"}]}`, "negative Delay"},
		{`{"route": "POST /v1/batch", "faults": [{"status": 99}]}`, "not an HTTP status code"},
		{`{"route": "POST /v1/batch", "faults": [{"successStatus": 404}]}`, "not a 2xx"},
		{`{"route": "POST /v1/batch", "faults": [{"body": "x"}]}`, "Body without Status"},
		{`{"route": "POST /v1/batch", "faults": [{"hang": true, "hold": "h2"}]}`, "Hang with Hold"},
		{`{"route": "POST /v1/batch", "faults": [{"header": {"X": 1}}]}`, "a header's value must be a string"},
		{`{"route": "POST /v1/batch", "faults": [{"hold": "a/b"}]}`, "a name cannot hold"},
	} {
		status, m, _ := h.ctl("POST", "faults", bad.body)
		assert.Equal(t, http.StatusBadRequest, status, bad.body)
		assert.Contains(t, m["message"], bad.want, bad.body)
	}
	status, m, _ := h.ctl("POST", "holds/h2/release", "")
	assert.Equal(t, http.StatusNotFound, status, "a refused fault makes no hold")
	assert.Contains(t, m["message"], `unknown hold "h2"`)
	status, _ = h.postJSON(jsonBatch(1))
	assert.Equal(t, http.StatusAccepted, status, "no refused fault was queued")
}

func TestControlRequestsHideSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const session = "00D000000000001!AQ8AQSecretSession"
	body := `{"template":"T","tasks":[{"params":{"id":"1"}}],"integration":{"type":"Salesforce","sessionID":"` + session + `","serverURL":"https://x"}}`
	status, raw := h.postJSON(body)
	require.Equal(t, http.StatusAccepted, status, string(raw))
	var a accepted
	require.NoError(t, json.Unmarshal(raw, &a))
	h.mustCtl(200, "POST", "batches/"+a.ID+"/tasks/"+a.Tasks[0]+"/complete", `{"results": [{"id": "Profile", "content": "x"}]}`)
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	fileURL := resultURLs(t, ts)[0]
	// A client that sends the API key to the storage host by mistake.
	req := h.newRequest(context.Background(), "GET", fileURL, nil, "")
	req.Header.Set("Authorization", "Bearer storage-secret")
	resp, _ := h.do(req)
	require.Equal(t, 200, resp.StatusCode)

	list := h.mustCtl(200, "GET", "requests", "")
	storage := h.mustCtl(200, "GET", "storage-requests", "")
	for name, m := range map[string]map[string]any{"requests": list, "storage-requests": storage} {
		text, err := json.Marshal(m)
		require.NoError(t, err)
		for _, secret := range []string{h.s.APIKey, session, "storage-secret", "X-Amz-Signature", "X-Amz-Credential"} {
			assert.NotContains(t, string(text), secret, name)
		}
	}
	reqs := list["requests"].([]any)
	require.Len(t, reqs, 2, "the post and the status read; control requests are not recorded")
	post := reqs[0].(map[string]any)
	assert.Equal(t, "POST", post["method"])
	assert.Equal(t, "/v1/batch", post["path"])
	assert.Equal(t, true, post["hasAPIKey"])
	assert.Equal(t, 202.0, post["status"])
	assert.Equal(t, "[redacted]", post["json"].(map[string]any)["integration"].(map[string]any)["sessionID"])
	assert.Equal(t, []any{map[string]any{"params": map[string]any{"id": "1"}}}, post["json"].(map[string]any)["tasks"])

	got := storage["requests"].([]any)[0].(map[string]any)
	assert.Equal(t, true, got["hasAPIKey"], "the leak stays visible")
	hdr := got["header"].(map[string]any)
	assert.Equal(t, []any{"[redacted]"}, hdr["X-Dynamo-Api-Key"])
	assert.Equal(t, []any{"[redacted]"}, hdr["Authorization"])
	assert.NotContains(t, got["path"], "?")

	// What Requests returns in Go keeps the session: it is the test's own process.
	assert.Contains(t, string(h.s.Requests()[0].JSON), session)
}

func TestControlResetAndClock(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPost(1)
	now := h.mustCtl(200, "GET", "clock", "")["now"]
	assert.Equal(t, "2022-02-10T11:03:30.100Z", now)

	moved := h.mustCtl(200, "POST", "clock", `{"advance": "24h0m1s"}`)
	assert.Equal(t, "2022-02-11T11:03:31.100Z", moved["now"])
	status, m := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusNotFound, status, "expired on the moved clock: %v", m)
	b := h.s.Batches()[0]
	assert.Equal(t, clock.Now(), b.PostedAt, "posted before the move")

	for _, bad := range []struct{ body, want string }{
		{`{"advance": "-1h"}`, "negative duration"},
		{`{"advance": "later"}`, "advance"},
		{`{}`, "advance: give a duration"},
		{`{"set": "2030-01-01T00:00:00Z"}`, `unknown field "set"`},
	} {
		status, m, _ := h.ctl("POST", "clock", bad.body)
		assert.Equal(t, http.StatusBadRequest, status, bad.body)
		assert.Contains(t, m["message"], bad.want, bad.body)
	}

	h.mustCtl(200, "POST", "faults", `{"route": "POST /v1/batch", "faults": [{"status": 503}]}`)
	h.mustCtl(200, "POST", "reset", "")
	assert.Empty(t, h.s.Batches())
	assert.Empty(t, h.s.Requests())
	assert.Equal(t, "2022-02-10T11:03:30.100Z", h.mustCtl(200, "GET", "clock", "")["now"], "Reset undoes the move")
	status, _ = h.postJSON(jsonBatch(1))
	assert.Equal(t, http.StatusAccepted, status, "Reset drops the queued fault")

	h.s.AdvanceClock(time.Hour)
	assert.Equal(t, "2022-02-10T12:03:30.100Z", h.mustCtl(200, "GET", "clock", "")["now"])
	assert.Panics(t, func() { h.s.AdvanceClock(-time.Second) })
}

func TestControlRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	task := h.mustPostTask(standaloneTask)
	cases := []struct {
		method, path, body string
		want               int
		allow, message     string
	}{
		{"GET", "nothing", "", 404, "", "no such control path"},
		{"GET", "batches/" + a.ID + "/x", "", 404, "", "no such control path"},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/explode", "", 404, "", "no such control path"},
		{"GET", "batches/nope", "", 404, "", `unknown batch "nope"`},
		{"POST", "batches/nope/complete", "", 404, "", `unknown batch "nope"`},
		{"POST", "batches/nope/tasks/t/start", "", 404, "", `unknown batch "nope"`},
		{"POST", "batches/" + a.ID + "/tasks/nope/complete", "", 404, "", `has no task "nope"`},
		{"GET", "tasks/nope", "", 404, "", `unknown task "nope"`},
		{"POST", "tasks/nope/start", "", 404, "", `unknown task "nope"`},
		{"DELETE", "batches", "", 405, "GET, HEAD, POST", "method DELETE is not allowed"},
		{"GET", "reset", "", 405, "POST", "method GET is not allowed"},
		{"POST", "requests", "", 405, "GET, HEAD", "method POST is not allowed"},
		{"PUT", "clock", "", 405, "GET, HEAD, POST", "method PUT is not allowed"},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/complete", `{"results": [`, 400, "", "invalid request body"},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/complete", `{"results": [{"id": ""}]}`, 400, "", "empty ID"},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/complete", `{"results": [{"id": "A", "content": "x", "contentBase64": "eA=="}]}`, 400, "", "exclude each other"},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/fail", `{"message": "x", "code": 1}`, 400, "", `unknown field "code"`},
		{"POST", "batches/" + a.ID + "/tasks/" + a.Tasks[0] + "/start", `{"now": true}`, 400, "", `unknown field "now"`},
		{"POST", "tasks/" + task.TaskID + "/queue", `[]`, 400, "", "invalid request body"},
		{"POST", "reset", `{} {}`, 400, "", "more than one JSON value"},
	}
	for _, tc := range cases {
		name := tc.method + " " + tc.path + " " + tc.body
		status, m, hdr := h.ctl(tc.method, tc.path, tc.body)
		assert.Equal(t, tc.want, status, name)
		assert.Equal(t, tc.allow, hdr.Get("Allow"), name)
		assert.Contains(t, m["message"], tc.message, name)
	}
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	assert.Equal(t, "Queued", ts["statusMessage"], "no refused request drove the task")

	// HEAD on a GET route of the control API: its GET without the body.
	status, _, hdr := h.ctl("HEAD", "batches/"+a.ID, "")
	assert.Equal(t, 200, status)
	assert.NotEqual(t, "0", hdr.Get("Content-Length"))

	// The control API is not part of the Dynamo API: its requests are not recorded,
	// and an API path under another prefix is the API's.
	for _, r := range h.s.Requests() {
		assert.NotContains(t, r.Path, "_dynamotest")
	}
	resp, _ := h.send("GET", "/_dynamotest", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the bare prefix is the API's unknown path")
}

// TestControlHandler drives an in-process fake through the handler itself, as a Go
// test may.
func TestControlHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	handler := h.s.ControlHandler()
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", dynamotest.ControlPrefix+"batches/"+a.ID+"/complete", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	b, _ := h.s.Batch(a.ID)
	assert.Equal(t, dynamotest.StageDone, b.Tasks[0].Stage)

	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/batch/"+a.ID, nil))
	assert.Equal(t, http.StatusNotFound, rec.Code, "the handler serves the control API only")
}
