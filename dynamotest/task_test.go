package dynamotest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestPostTaskJSON(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	status, raw := h.postTaskJSON(salesforceTask)
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)

	var shape map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &shape))
	assert.ElementsMatch(t, []string{"taskID", "message", "usage"}, keys(shape))
	assert.JSONEq(t, `{"api":{"term":1,"termMax":10000},"signing":{"term":0,"termMax":1000}}`, string(shape["usage"]))
	var a acceptedTask
	require.NoError(t, json.Unmarshal(raw, &a))
	assert.Regexp(t, taskIDRE, a.TaskID)
	assert.Equal(t, "Success", a.Message)

	b := h.mustPostTask(standaloneTask)
	assert.NotEqual(t, a.TaskID, b.TaskID)
	assert.Equal(t, 2, b.Usage.API.Term, "every accepted Task API post counts")
	h.mustPost(1)
	assert.Equal(t, 3, h.mustPostTask(`{"template":"t"}`).Usage.API.Term, "batch posts do not count; standalone params are optional")

	tasks := h.s.Tasks()
	require.Len(t, tasks, 3)
	got := tasks[0]
	assert.Equal(t, a.TaskID, got.ID)
	assert.Equal(t, "069000000000001", got.Template)
	assert.Nil(t, got.EmbeddedTemplate)
	assert.Equal(t, map[string]any{"id": "a0B000001", "locale": "fi-FI"}, got.Params)
	assert.Equal(t, "Salesforce", got.Integration["type"])
	assert.Equal(t, clock.Now(), got.PostedAt)
	assert.Equal(t, dynamotest.StagePosted, got.Stage)
	assert.Nil(t, tasks[1].Integration)
	assert.Equal(t, map[string]any{}, tasks[2].Params)

	one, ok := h.s.Task(a.TaskID)
	require.True(t, ok)
	assert.Equal(t, got, one)
	_, ok = h.s.Task("t-nope")
	assert.False(t, ok)
	one.Params["locale"] = "changed"
	again, _ := h.s.Task(a.TaskID)
	assert.Equal(t, "fi-FI", again.Params["locale"], "snapshots are copies")

	r := h.s.Requests()[0]
	assert.Equal(t, "/v1/task", r.Path)
	assert.JSONEq(t, salesforceTask, string(r.JSON))
	assert.Equal(t, http.StatusAccepted, r.Status)
	assert.Nil(t, r.Template)
}

func TestUsageLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dynamotest.WithUsageLimits(2, 0))
	for term := 1; term <= 3; term++ {
		a := h.mustPostTask(standaloneTask)
		assert.Equal(t, usageCount{Term: term, TermMax: 2}, a.Usage.API, "the fake reports, never refuses, use over the limit")
		assert.Equal(t, usageCount{Term: 0, TermMax: 0}, a.Usage.Signing)
	}
}

func TestPostTaskJSONRefused(t *testing.T) {
	t.Parallel()
	const sf = `"integration":{"type":"Salesforce","sessionID":"s","serverURL":"u"}`
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"missing template", "application/json", `{"params":{}}`, 400, "template is required"},
		{"empty template", "application/json", `{"template":"","params":{}}`, 400, "template must be a non-empty string"},
		{"integration without params", "application/json", `{"template":"t",` + sf + `}`, 400, "params is required with an integration"},
		{"integration without id", "application/json", `{"template":"t","params":{"x":1},` + sf + `}`, 400, "params.id is required"},
		{"numeric id", "application/json", `{"template":"t","params":{"id":7},` + sf + `}`, 400, "params.id must be a string"},
		{"empty id", "application/json", `{"template":"t","params":{"id":""},` + sf + `}`, 400, "params.id is required (it is empty)"},
		{"params not an object", "application/json", `{"template":"t","params":[1]}`, 400, "params must be an object"},
		{"null params", "application/json", `{"template":"t","params":null}`, 400, "params must be an object"},
		{"partParams", "application/json", `{"template":"t","params":{},"partParams":[]}`, 400, "partParams is not part of the Task API"},
		{"batch form", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}}]}`, 400, `unknown field "tasks"`},
		{"unknown field", "application/json", `{"template":"t","parts":[]}`, 400, `unknown field "parts"`},
		{"integration type", "application/json", `{"template":"t","params":{"id":"1"},"integration":{"type":"x","sessionID":"s","serverURL":"u"}}`, 400, "integration.type"},
		{"invalid JSON", "application/json", `{"template":`, 400, "not valid JSON"},
		{"not an object", "application/json", `"t"`, 400, "JSON object"},
		{"wrong content type", "text/plain", standaloneTask, 415, "text/plain"},
		{"no content type", "", standaloneTask, 415, "Content-Type"},
	}
	h := newHarness(t)
	for _, tc := range cases {
		resp, body := h.send(http.MethodPost, "/v1/task", tc.contentType, strings.NewReader(tc.body))
		assert.Equal(t, tc.status, resp.StatusCode, tc.name)
		assert.Contains(t, message(t, body), tc.want, tc.name)
	}
	assert.Empty(t, h.s.Tasks())

	// Every problem at once, and no secret echoed.
	status, body := h.postTaskJSON(`{"params":{"id":3},"partParams":[],"integration":{"type":"Salesforce","sessionID":"sess-secret","serverURL":""}}`)
	assert.Equal(t, http.StatusBadRequest, status)
	msg := message(t, body)
	for _, want := range []string{"template is required", "params.id must be a string", "partParams", "integration.serverURL"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "sess-secret")
	assert.Equal(t, 1, h.mustPostTask(standaloneTask).Usage.API.Term, "refused posts do not count")
}

func TestPostTaskJSONTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	status, raw := h.postTaskJSON(`{"template":"t","params":{"pad":"` + strings.Repeat("x", 32<<20) + `"}}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.NotEmpty(t, message(t, raw))
	assert.Empty(t, h.s.Tasks())
}

func TestPostTaskMultipart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	template := bytes.Repeat([]byte("DAP\x00"), 5000)
	sum := sha256.Sum256(template)
	data := `{"params":{"id":"a0B000001"},"integration":{"type":"Salesforce","sessionID":"s","serverURL":"https://x.my.salesforce.com"}}`
	status, raw := h.postForm("/v1/task",
		templatePart(template),
		jsonPart("data", data),
		jsonPart("param.additionalData", `{"rows":[1,2]}`),
		jsonPart("param.title", `"Offer"`),
	)
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)
	var a acceptedTask
	require.NoError(t, json.Unmarshal(raw, &a))

	got, ok := h.s.Task(a.TaskID)
	require.True(t, ok)
	assert.Empty(t, got.Template)
	require.NotNil(t, got.EmbeddedTemplate)
	assert.Equal(t, dynamotest.TemplateInfo{
		FileName: "example.dap", ContentType: "application/octet-stream",
		Size: int64(len(template)), SHA256: hex.EncodeToString(sum[:]),
	}, *got.EmbeddedTemplate)
	assert.Equal(t, map[string]any{
		"id":             "a0B000001",
		"additionalData": map[string]any{"rows": []any{float64(1), float64(2)}},
		"title":          "Offer",
	}, got.Params)
	assert.Equal(t, map[string]json.RawMessage{"additionalData": json.RawMessage(`{"rows":[1,2]}`), "title": json.RawMessage(`"Offer"`)}, got.Parts)

	r := h.s.Requests()[0]
	assert.JSONEq(t, data, string(r.JSON))
	require.NotNil(t, r.Template)
	assert.Equal(t, *got.EmbeddedTemplate, *r.Template)
	assert.Equal(t, got.Parts, r.Parts)

	// Standalone, the data part may leave params out.
	status, raw = h.postForm("/v1/task", templatePart(template), jsonPart("data", `{}`), jsonPart("param.x", `1`))
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)
	require.NoError(t, json.Unmarshal(raw, &a))
	got, _ = h.s.Task(a.TaskID)
	assert.Equal(t, map[string]any{"x": float64(1)}, got.Params)
}

func TestPostTaskMultipartRefused(t *testing.T) {
	t.Parallel()
	tmpl := templatePart([]byte("dap"))
	data := jsonPart("data", `{"params":{"id":"1","locale":"fi"}}`)
	cases := []struct {
		name  string
		parts []mpart
		want  string
	}{
		{"no template", []mpart{data}, "the template part is missing"},
		{"no data", []mpart{tmpl}, "the data part is missing"},
		{"template typed JSON", []mpart{{name: "template", fileName: "a.dap", contentType: "application/json", body: []byte("dap")}, data}, "template part must have Content-Type application/octet-stream"},
		{"template untyped", []mpart{{name: "template", fileName: "a.dap", body: []byte("dap")}, data}, "application/octet-stream"},
		{"template without filename", []mpart{{name: "template", contentType: "application/octet-stream", body: []byte("dap")}, data}, "filename"},
		{"empty template", []mpart{templatePart(nil), data}, "template part is empty"},
		{"param part with filename", []mpart{tmpl, data, {name: "param.x", fileName: "x.json", contentType: "application/json", body: []byte(`1`)}}, `part "param.x" must not have a filename`},
		{"data part with filename", []mpart{tmpl, {name: "data", fileName: "data.json", contentType: "application/json", body: []byte(`{}`)}}, "the data part must not have a filename"},
		{"part shadows a param", []mpart{tmpl, data, jsonPart("param.locale", `"sv"`)}, `part "param.locale" has the name of params.locale`},
		{"part sets the record ID", []mpart{tmpl, jsonPart("data", `{}`), jsonPart("param.id", `"1"`)}, `part "param.id" must not set the record ID`},
		{"partParams", []mpart{tmpl, jsonPart("data", `{"params":{},"partParams":[{"partName":"x","paramName":"y"}]}`)}, "partParams is not part of the Task API"},
		{"template in data", []mpart{tmpl, jsonPart("data", `{"template":"t","params":{}}`)}, "must not contain template"},
		{"unknown field in data", []mpart{tmpl, jsonPart("data", `{"tasks":[]}`)}, `unknown field "tasks" in the data part`},
		{"integration without id", []mpart{tmpl, jsonPart("data", `{"params":{},"integration":{"type":"Salesforce","sessionID":"s","serverURL":"u"}}`)}, "params.id is required"},
		{"invalid part JSON", []mpart{tmpl, data, jsonPart("param.a", `{`)}, `part "param.a" is not valid JSON`},
		{"bad part name", []mpart{tmpl, data, jsonPart("param.a/b", `1`)}, `part "param.a/b"`},
		{"duplicate part", []mpart{tmpl, data, jsonPart("param.a", `1`), jsonPart("param.a", `2`)}, `more than one part named "param.a"`},
		{"unknown part", []mpart{tmpl, data, jsonPart("extra", `1`)}, `unexpected part "extra"`},
	}
	h := newHarness(t)
	for _, tc := range cases {
		status, raw := h.postForm("/v1/task", tc.parts...)
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.Contains(t, message(t, raw), tc.want, tc.name)
	}
	assert.Empty(t, h.s.Tasks())

	// The problems of the parts and of the data are named together.
	status, raw := h.postForm("/v1/task",
		mpart{name: "template", fileName: "a.dap", contentType: "text/plain", body: []byte("dap")},
		jsonPart("data", `{"params":{"k":1},"partParams":[]}`),
		mpart{name: "param.k", fileName: "k.json", contentType: "application/json", body: []byte(`2`)},
	)
	assert.Equal(t, http.StatusBadRequest, status)
	msg := message(t, raw)
	for _, want := range []string{"application/octet-stream", "must not have a filename", "partParams", "params.k"} {
		assert.Contains(t, msg, want)
	}
}

func TestTaskLifecycle(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPostTask(salesforceTask)
	path := "/v1/task/" + a.TaskID

	status, ts := h.get(path)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Received", ts["statusMessage"])
	assert.NotEmpty(t, ts["statusDescription"])
	assert.Equal(t, false, ts["completed"])
	assert.Equal(t, false, ts["errors"])
	assert.NotContains(t, ts, "startDateTime")
	assert.NotContains(t, ts, "endDateTime")
	assert.Equal(t, []any{}, ts["log"])
	assert.Equal(t, []any{}, ts["results"])
	assert.Equal(t, []any{}, ts["resultList"])

	descriptions := map[any]bool{ts["statusDescription"]: true}
	h.s.QueueTask(a.TaskID)
	_, ts = h.get(path)
	assert.Equal(t, "Queued", ts["statusMessage"])
	assert.NotContains(t, ts, "startDateTime")
	descriptions[ts["statusDescription"]] = true

	clock.Advance(time.Second)
	started := clock.Now()
	h.s.StartTask(a.TaskID)
	_, ts = h.get(path)
	assert.Equal(t, "Running", ts["statusMessage"])
	assert.Equal(t, stamp(started), ts["startDateTime"])
	assert.NotContains(t, ts, "endDateTime")
	descriptions[ts["statusDescription"]] = true

	clock.Advance(2 * time.Second)
	h.s.CompleteTask(a.TaskID, dynamotest.ResultFile{ID: "Offer.pdf", Content: []byte("%PDF offer")})
	_, ts = h.get(path)
	assert.Equal(t, "Ready", ts["statusMessage"])
	assert.Equal(t, "Ready", ts["statusDescription"])
	assert.Equal(t, true, ts["completed"])
	assert.Equal(t, false, ts["errors"])
	assert.Equal(t, stamp(started), ts["startDateTime"])
	assert.Equal(t, stamp(clock.Now()), ts["endDateTime"])
	assert.Equal(t, []any{"Offer.pdf"}, ts["results"])
	fileURL := resultURLs(t, ts)[0]
	assert.True(t, strings.HasPrefix(fileURL, h.s.StorageURL+"/tasks/"+a.TaskID+"/Offer.pdf?"), fileURL)
	status, content := h.download(fileURL)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "%PDF offer", string(content))
	descriptions[ts["statusDescription"]] = true
	assert.Len(t, descriptions, 4, "each stage has its own description")

	got, _ := h.s.Task(a.TaskID)
	assert.Equal(t, dynamotest.StageDone, got.Stage)
	assert.Empty(t, got.Failure)
	assert.Equal(t, started, got.StartedAt)
	assert.Equal(t, "Offer.pdf", got.Results[0].ID)

	h.s.FailTask(a.TaskID, "template error: boom")
	_, ts = h.get(path)
	assert.Equal(t, "template error: boom", ts["statusMessage"])
	assert.NotEmpty(t, ts["statusDescription"])
	assert.Equal(t, true, ts["completed"])
	assert.Equal(t, true, ts["errors"])
	assert.Equal(t, []any{}, ts["resultList"])
	require.Len(t, ts["log"], 1)
	assert.Contains(t, ts["log"].([]any)[0], "SEVERE template error: boom")
	got, _ = h.s.Task(a.TaskID)
	assert.Equal(t, dynamotest.StageFailed, got.Stage)
	assert.Equal(t, "template error: boom", got.Failure)

	status, m := h.get("/v1/task/t-" + strings.Repeat("0", 32))
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotEmpty(t, m["message"])
	status, _ = h.get("/v1/task/" + a.TaskID + "x")
	assert.Equal(t, http.StatusNotFound, status)

	for name, drive := range map[string]func(){
		"QueueTask":       func() { h.s.QueueTask("t-nope") },
		"StartTask":       func() { h.s.StartTask("t-nope") },
		"CompleteTask":    func() { h.s.CompleteTask("t-nope") },
		"FailTask":        func() { h.s.FailTask("t-nope", "x") },
		"empty result ID": func() { h.s.CompleteTask(a.TaskID, dynamotest.ResultFile{}) },
		"result ID twice": func() {
			h.s.CompleteTask(a.TaskID, dynamotest.ResultFile{ID: "a"}, dynamotest.ResultFile{ID: "a"})
		},
	} {
		assert.Panics(t, drive, name)
	}
}

func TestTaskAutoComplete(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t,
		dynamotest.WithClock(clock.Now),
		dynamotest.WithAutoComplete(time.Minute),
		dynamotest.WithResultFiles("Offer"),
	)
	a := h.mustPostTask(standaloneTask)
	driven := h.mustPostTask(standaloneTask)
	posted := clock.Now()
	h.s.QueueTask(driven.TaskID)

	clock.Advance(59 * time.Second)
	_, ts := h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, "Received", ts["statusMessage"])

	clock.Advance(time.Second)
	_, ts = h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, "Ready", ts["statusMessage"])
	assert.Equal(t, stamp(posted), ts["startDateTime"])
	assert.Equal(t, stamp(posted.Add(time.Minute)), ts["endDateTime"])
	status, content := h.download(resultURLs(t, ts)[0])
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "result Offer of task "+a.TaskID, string(content))

	_, ts = h.get("/v1/task/" + driven.TaskID)
	assert.Equal(t, "Queued", ts["statusMessage"], "a task the test drives is left alone")
}

func TestTaskExpiry(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPostTask(standaloneTask)

	clock.Advance(72 * time.Hour)
	status, _ := h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, http.StatusOK, status)

	clock.Advance(time.Millisecond)
	status, m := h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, m["message"], "expired")
	assert.Len(t, h.s.Tasks(), 1)
}

func TestTaskFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPostTask(standaloneTask)
	h.s.CompleteTask(a.TaskID, dynamotest.ResultFile{ID: "r", Content: []byte("x")})
	h.s.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	h.s.Inject(dynamotest.RouteGetTask, dynamotest.Fault{Status: http.StatusBadGateway})
	h.s.Inject(dynamotest.RouteDownloadTask, dynamotest.Fault{Status: http.StatusInternalServerError})
	h.s.Inject(dynamotest.RouteDownload, dynamotest.Fault{Status: http.StatusTeapot}) // never reached: another route

	status, _ := h.postTaskJSON(standaloneTask)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	status, _ = h.get("/v1/task/" + a.TaskID)
	assert.Equal(t, http.StatusBadGateway, status)
	_, ts := h.get("/v1/task/" + a.TaskID)
	fileURL := resultURLs(t, ts)[0]
	status, _ = h.download(fileURL)
	assert.Equal(t, http.StatusInternalServerError, status)
	status, _ = h.download(fileURL)
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, h.s.Tasks(), 1)

	// The Task API answer keeps its body under SuccessStatus.
	h.s.Inject(dynamotest.RoutePostTask, dynamotest.Fault{SuccessStatus: http.StatusCreated})
	resp, raw := h.send(http.MethodPost, "/v1/task", "application/json", strings.NewReader(standaloneTask))
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Contains(t, string(raw), `"taskID":"t-`)
}
