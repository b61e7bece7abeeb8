package dynamotest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestDefaultCredentials(t *testing.T) {
	t.Parallel()
	a := dynamotest.NewServer()
	defer a.Close()
	b := dynamotest.NewServer()
	defer b.Close()
	assert.Equal(t, "00D000000000001AAA", a.TenantID)
	assert.Regexp(t, batchIDRE, a.APIKey)
	assert.NotEqual(t, a.APIKey, b.APIKey)
	assert.NotEqual(t, a.URL, a.StorageURL)

	c := dynamotest.NewServer(dynamotest.WithCredentials("tenant", "key"))
	defer c.Close()
	assert.Equal(t, "tenant", c.TenantID)
	assert.Equal(t, "key", c.APIKey)
	assert.NotNil(t, c.Client())
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	s := dynamotest.NewServer()
	s.Close()
	s.Close()
}

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	url := h.s.URL + "/v1/batch/0123456789abcdef0123456789abcdef"

	cases := []struct {
		name        string
		tenant, key string
		want        int
	}{
		{"no headers", "", "", http.StatusUnauthorized},
		{"missing key", h.s.TenantID, "", http.StatusUnauthorized},
		{"wrong key", h.s.TenantID, "not-the-key", http.StatusUnauthorized},
		{"wrong tenant", "00D000000000002AAA", h.s.APIKey, http.StatusUnauthorized},
		{"valid", h.s.TenantID, h.s.APIKey, http.StatusNotFound},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		if tc.tenant != "" {
			req.Header.Set("x-dynamo-tenant-id", tc.tenant)
		}
		if tc.key != "" {
			req.Header.Set("x-dynamo-api-key", tc.key)
		}
		resp, body := h.do(req)
		assert.Equal(t, tc.want, resp.StatusCode, tc.name)
		assert.NotEmpty(t, message(t, body), tc.name)
	}

	// A refused post creates nothing.
	req, err := http.NewRequest(http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(jsonBatch(1)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, _ := h.do(req)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, h.s.Batches())

	reqs := h.s.Requests()
	require.Len(t, reqs, len(cases)+1)
	for i, tc := range cases {
		assert.Equal(t, tc.want, reqs[i].Status, tc.name)
		assert.Equal(t, tc.name == "wrong tenant" || tc.name == "valid", reqs[i].HasAPIKey, tc.name)
	}
	for _, r := range reqs {
		assert.Empty(t, r.Header.Values("x-dynamo-api-key"))
		for name, values := range r.Header {
			for _, v := range values {
				assert.NotContains(t, v, h.s.APIKey, "header %s", name)
			}
		}
	}
}

func TestPostJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := `{"template":"3242374783",
		"tasks":[{"params":{"id":"1111"}},{"params":{"id":"2222","locale":"fi-FI","n":3}}],
		"integration":{"type":"Salesforce","sessionID":"sess-secret","serverURL":"xxx.salesforce.com"}}`
	status, raw := h.postJSON(body)
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)

	var shape map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &shape))
	assert.ElementsMatch(t, []string{"id", "tasks", "message", "licenseUsage"}, keys(shape))

	var a accepted
	require.NoError(t, json.Unmarshal(raw, &a))
	assert.Regexp(t, batchIDRE, a.ID)
	require.Len(t, a.Tasks, 2)
	for _, id := range a.Tasks {
		assert.Regexp(t, uuidRE, id)
	}
	assert.NotEqual(t, a.Tasks[0], a.Tasks[1])
	assert.Equal(t, "Success", a.Message)
	assert.Equal(t, 2, a.LicenseUsage)

	batches := h.s.Batches()
	require.Len(t, batches, 1)
	b := batches[0]
	assert.Equal(t, a.ID, b.ID)
	assert.Equal(t, "3242374783", b.Template)
	assert.Nil(t, b.EmbeddedTemplate)
	assert.Equal(t, map[string]any{"type": "Salesforce", "sessionID": "sess-secret", "serverURL": "xxx.salesforce.com"}, b.Integration)
	assert.WithinDuration(t, time.Now(), b.PostedAt, time.Minute)
	require.Len(t, b.Tasks, 2)
	assert.Equal(t, a.Tasks[0], b.Tasks[0].ID)
	assert.Equal(t, map[string]any{"id": "2222", "locale": "fi-FI", "n": float64(3)}, b.Tasks[1].Params)
	assert.Equal(t, dynamotest.StagePosted, b.Tasks[0].Stage)

	got, ok := h.s.Batch(a.ID)
	require.True(t, ok)
	assert.Equal(t, b, got)
	_, ok = h.s.Batch("nope")
	assert.False(t, ok)

	// Snapshots are copies.
	b.Tasks[1].Params["locale"] = "changed"
	again, _ := h.s.Batch(a.ID)
	assert.Equal(t, "fi-FI", again.Tasks[1].Params["locale"])

	reqs := h.s.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/v1/batch", r.Path)
	assert.True(t, r.HasAPIKey)
	assert.JSONEq(t, body, string(r.JSON))
	assert.Equal(t, int64(len(body)), r.ContentLength)
	assert.Equal(t, int64(len(body)), r.BytesRead)
	assert.False(t, r.Chunked)
	assert.Equal(t, http.StatusAccepted, r.Status)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
}

func TestPostJSONTaskCount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1000)
	assert.Len(t, a.Tasks, 1000)
	assert.Equal(t, 1000, a.LicenseUsage)

	status, body := h.postJSON(jsonBatch(1001))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, message(t, body), "1000")

	status, body = h.postJSON(`{"template":"t","tasks":[]}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, message(t, body), "tasks")

	assert.Len(t, h.s.Batches(), 1)
}

func TestPostJSONRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"missing id", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}},{"params":{"x":1}}]}`, 400, "tasks[1].params.id is required"},
		{"empty id", "application/json", `{"template":"t","tasks":[{"params":{"id":""}}]}`, 400, "tasks[0].params.id"},
		{"numeric id", "application/json", `{"template":"t","tasks":[{"params":{"id":7}}]}`, 400, "tasks[0].params.id must be a string"},
		{"missing params", "application/json", `{"template":"t","tasks":[{}]}`, 400, "tasks[0].params is required"},
		{"missing template", "application/json", `{"tasks":[{"params":{"id":"1"}}]}`, 400, "template is required"},
		{"empty template", "application/json", `{"template":"","tasks":[{"params":{"id":"1"}}]}`, 400, "template"},
		{"missing tasks", "application/json", `{"template":"t"}`, 400, "tasks is required"},
		{"unknown field", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}}],"parts":[]}`, 400, `unknown field "parts"`},
		{"partParams", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"},"partParams":[{"partName":"a","paramName":"b"}]}]}`, 400, "tasks[0].partParams is not allowed"},
		{"integration type", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}}],"integration":{"type":"Other","sessionID":"s","serverURL":"u"}}`, 400, "integration.type"},
		{"integration session", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}}],"integration":{"type":"Salesforce","serverURL":"u"}}`, 400, "integration.sessionID"},
		{"integration null", "application/json", `{"template":"t","tasks":[{"params":{"id":"1"}}],"integration":null}`, 400, "integration must be an object"},
		{"invalid JSON", "application/json", `{"template":"t",`, 400, "not valid JSON"},
		{"not an object", "application/json", `[1,2]`, 400, "JSON object"},
		{"wrong content type", "text/plain", jsonBatch(1), 415, "text/plain"},
		{"no content type", "", jsonBatch(1), 415, "Content-Type"},
	}
	h := newHarness(t)
	for _, tc := range cases {
		req := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(tc.body), tc.contentType)
		resp, body := h.do(req)
		assert.Equal(t, tc.status, resp.StatusCode, tc.name)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), tc.name)
		assert.Contains(t, message(t, body), tc.want, tc.name)
	}
	assert.Empty(t, h.s.Batches())

	// Every problem is named at once, and no secret is echoed.
	status, body := h.postJSON(`{"tasks":[{"params":{}},{"params":{"id":"ok"}},{"params":{"id":5}}],
		"integration":{"type":"Salesforce","sessionID":"sess-secret","serverURL":""}}`)
	assert.Equal(t, http.StatusBadRequest, status)
	msg := message(t, body)
	for _, want := range []string{"template is required", "tasks[0].params.id", "tasks[2].params.id", "integration.serverURL"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "sess-secret")
}

func TestPostJSONTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := `{"template":"t","tasks":[{"params":{"id":"1","pad":"` + strings.Repeat("x", 32<<20) + `"}}]}`
	status, raw := h.postJSON(body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.NotEmpty(t, message(t, raw))
	assert.Empty(t, h.s.Batches())
}

func TestPostMultipart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	template := bytes.Repeat([]byte("DAP-template-bytes\x00\x01"), 10_000)
	sum := sha256.Sum256(template)
	data := `{"tasks":[
		{"params":{"id":"1111","extra":"from params"},
		 "partParams":[{"partName":"first","paramName":"extra"},{"partName":"second","paramName":"extra"},{"partName":"first","paramName":"one"}]},
		{"params":{"id":"2222"}}],
		"integration":{"type":"Salesforce","sessionID":"s","serverURL":"https://x.my.salesforce.com"}}`
	ct, body := multipartBody(t,
		templatePart(template),
		jsonPart("data", data),
		jsonPart("param.first", `{"a":1}`),
		jsonPart("param.second", `["b",2]`),
	)
	status, raw := h.postMultipart(ct, bytes.NewReader(body))
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)
	var a accepted
	require.NoError(t, json.Unmarshal(raw, &a))
	assert.Equal(t, 2, a.LicenseUsage)

	b, ok := h.s.Batch(a.ID)
	require.True(t, ok)
	assert.Empty(t, b.Template)
	require.NotNil(t, b.EmbeddedTemplate)
	assert.Equal(t, dynamotest.TemplateInfo{
		FileName:    "example.dap",
		ContentType: "application/octet-stream",
		Size:        int64(len(template)),
		SHA256:      hex.EncodeToString(sum[:]),
	}, *b.EmbeddedTemplate)
	assert.Equal(t, map[string]any{
		"id":    "1111",
		"extra": []any{"b", float64(2)},
		"one":   map[string]any{"a": float64(1)},
	}, b.Tasks[0].Params)
	assert.Equal(t, []dynamotest.PartParam{
		{PartName: "first", ParamName: "extra"},
		{PartName: "second", ParamName: "extra"},
		{PartName: "first", ParamName: "one"},
	}, b.Tasks[0].PartParams)
	assert.Equal(t, map[string]any{"id": "2222"}, b.Tasks[1].Params)
	assert.Equal(t, "Salesforce", b.Integration["type"])

	reqs := h.s.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.JSONEq(t, data, string(r.JSON))
	require.NotNil(t, r.Template)
	assert.Equal(t, *b.EmbeddedTemplate, *r.Template)
	assert.Equal(t, map[string]json.RawMessage{"first": json.RawMessage(`{"a":1}`), "second": json.RawMessage(`["b",2]`)}, r.Parts)
	assert.Equal(t, int64(len(body)), r.ContentLength)
	assert.False(t, r.Chunked)
	assert.Equal(t, http.StatusAccepted, r.Status)
}

func TestPostMultipartChunked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	const size = 3 << 20
	hash := sha256.New()
	go func() {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="template"; filename="big.dap"`)
		hdr.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(hdr)
		chunk := bytes.Repeat([]byte{0xAB}, 64<<10)
		for written := 0; written < size; written += len(chunk) {
			_, _ = w.Write(chunk)
			hash.Write(chunk)
		}
		hdr = textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="data"`)
		hdr.Set("Content-Type", "application/json")
		w, _ = mw.CreatePart(hdr)
		_, _ = io.WriteString(w, `{"tasks":[{"params":{"id":"1"}}]}`)
		pw.CloseWithError(mw.Close())
	}()
	status, raw := h.postMultipart(mw.FormDataContentType(), pr)
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)
	r := h.s.Requests()[0]
	assert.True(t, r.Chunked)
	assert.Equal(t, int64(-1), r.ContentLength)
	assert.Greater(t, r.BytesRead, int64(size))
	require.NotNil(t, r.Template)
	assert.Equal(t, int64(size), r.Template.Size)
	assert.Equal(t, hex.EncodeToString(hash.Sum(nil)), r.Template.SHA256)
}

func TestPostMultipartRefused(t *testing.T) {
	t.Parallel()
	tmpl := templatePart([]byte("dap"))
	data := jsonPart("data", `{"tasks":[{"params":{"id":"1"}}]}`)
	cases := []struct {
		name  string
		parts []mpart
		want  string
	}{
		{"no template", []mpart{data}, "template part is missing"},
		{"no data", []mpart{tmpl}, "data part is missing"},
		{"missing part", []mpart{tmpl, jsonPart("data", `{"tasks":[{"params":{"id":"1"},"partParams":[{"partName":"absent","paramName":"x"}]}]}`)},
			`tasks[0].partParams[0].partName "absent" names no attached part`},
		{"empty paramName", []mpart{tmpl, jsonPart("param.a", `1`), jsonPart("data", `{"tasks":[{"params":{"id":"1"},"partParams":[{"partName":"a","paramName":""}]}]}`)},
			"tasks[0].partParams[0].paramName is required"},
		{"template in data", []mpart{tmpl, jsonPart("data", `{"template":"t","tasks":[{"params":{"id":"1"}}]}`)}, "must not contain template"},
		{"missing id", []mpart{tmpl, jsonPart("data", `{"tasks":[{"params":{"id":"1"}},{"params":{}}]}`)}, "tasks[1].params.id is required"},
		{"unknown part", []mpart{tmpl, data, jsonPart("extra", `{}`)}, `unexpected part "extra"`},
		{"bad part name", []mpart{tmpl, data, jsonPart("param.a b", `{}`)}, `part "param.a b"`},
		{"duplicate part", []mpart{tmpl, data, jsonPart("param.a", `1`), jsonPart("param.a", `2`)}, `more than one part named "param.a"`},
		{"invalid part JSON", []mpart{tmpl, data, jsonPart("param.a", `{`)}, `part "param.a" is not valid JSON`},
		{"invalid data JSON", []mpart{tmpl, jsonPart("data", `{"tasks":`)}, "data part is not valid JSON"},
		{"data without content type", []mpart{tmpl, {name: "data", body: []byte(`{"tasks":[{"params":{"id":"1"}}]}`)}}, "data part must have Content-Type application/json"},
		{"template without filename", []mpart{{name: "template", body: []byte("dap")}, data}, "filename"},
		{"empty template", []mpart{templatePart(nil), data}, "template part is empty"},
		{"template typed JSON", []mpart{{name: "template", fileName: "a.dap", contentType: "application/json", body: []byte("dap")}, data}, "template part must have Content-Type application/octet-stream"},
		{"template untyped", []mpart{{name: "template", fileName: "a.dap", body: []byte("dap")}, data}, "application/octet-stream"},
		{"param part with filename", []mpart{tmpl, data, {name: "param.a", fileName: "a.json", contentType: "application/json", body: []byte(`1`)}}, `part "param.a" must not have a filename`},
		{"data part with filename", []mpart{tmpl, {name: "data", fileName: "d.json", contentType: "application/json", body: []byte(`{"tasks":[{"params":{"id":"1"}}]}`)}}, "the data part must not have a filename"},
		{"partParam replaces id", []mpart{tmpl, jsonPart("param.a", `"x"`), jsonPart("data", `{"tasks":[{"params":{"id":"1"},"partParams":[{"partName":"a","paramName":"id"}]}]}`)},
			`tasks[0].partParams[0].paramName must not be "id"`},
	}
	h := newHarness(t)
	for _, tc := range cases {
		ct, body := multipartBody(t, tc.parts...)
		status, raw := h.postMultipart(ct, bytes.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.Contains(t, message(t, raw), tc.want, tc.name)
	}

	status, raw := h.postMultipart("multipart/form-data", strings.NewReader("x"))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, message(t, raw), "multipart")

	// The problems of the parts and of the data are named together.
	status, raw = h.postForm("/v1/batch",
		mpart{name: "template", fileName: "a.dap", contentType: "text/plain", body: []byte("dap")},
		mpart{name: "param.a", fileName: "a.json", contentType: "application/json", body: []byte(`1`)},
		jsonPart("data", `{"tasks":[{"params":{}}]}`),
	)
	assert.Equal(t, http.StatusBadRequest, status)
	msg := message(t, raw)
	for _, want := range []string{"application/octet-stream", "must not have a filename", "tasks[0].params.id"} {
		assert.Contains(t, msg, want)
	}

	assert.Empty(t, h.s.Batches())
}

func TestPostMultipartUnmappedParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	status, raw := h.postForm("/v1/batch",
		templatePart([]byte("dap")),
		jsonPart("data", `{"tasks":[{"params":{"id":"1"},"partParams":[{"partName":"used","paramName":"u"}]},{"params":{"id":"2"}}]}`),
		jsonPart("param.used", `1`),
		jsonPart("param.spare", `{"kept":true}`),
		jsonPart("param.another", `2`),
	)
	require.Equal(t, http.StatusAccepted, status, "body %s", raw)
	b := h.s.Batches()[0]
	assert.Equal(t, []string{"another", "spare"}, b.UnmappedParts)
	assert.Equal(t, map[string]json.RawMessage{
		"used": json.RawMessage(`1`), "spare": json.RawMessage(`{"kept":true}`), "another": json.RawMessage(`2`),
	}, b.Parts)
	assert.Equal(t, map[string]any{"id": "1", "u": float64(1)}, b.Tasks[0].Params)
	assert.Equal(t, map[string]any{"id": "2"}, b.Tasks[1].Params, "an unmapped part reaches no task")
}

func TestStatusLifecycle(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPost(3)
	posted := clock.Now()
	batchPath := "/v1/batch/" + a.ID
	taskPath := func(i int) string { return batchPath + "/" + a.Tasks[i] }

	status, bs := h.get(batchPath)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, stamp(posted), bs["postDateTime"])
	assert.Equal(t, false, bs["completed"])
	assert.Equal(t, false, bs["errors"])
	assert.Equal(t, "Waiting", bs["statusMessage"])
	assert.NotContains(t, bs, "completedDateTime")
	assert.Equal(t, []any{
		map[string]any{"id": a.Tasks[0], "completed": false, "errors": false},
		map[string]any{"id": a.Tasks[1], "completed": false, "errors": false},
		map[string]any{"id": a.Tasks[2], "completed": false, "errors": false},
	}, bs["tasks"])

	status, ts := h.get(taskPath(0))
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{
		"completed": false, "errors": false, "statusMessage": "Queued",
		"log": []any{}, "results": []any{}, "resultList": []any{},
	}, ts)

	clock.Advance(time.Second)
	started := clock.Now()
	h.s.StartBatchTask(a.ID, a.Tasks[0])
	_, ts = h.get(taskPath(0))
	assert.Equal(t, "Running", ts["statusMessage"])
	assert.Equal(t, stamp(started), ts["startDateTime"])
	assert.NotContains(t, ts, "endDateTime")
	_, bs = h.get(batchPath)
	assert.Equal(t, "Started", bs["statusMessage"])

	clock.Advance(2 * time.Second)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("%PDF-1.7 profile")})
	_, ts = h.get(taskPath(0))
	assert.Equal(t, true, ts["completed"])
	assert.Equal(t, "Completed", ts["statusMessage"])
	assert.Equal(t, stamp(started), ts["startDateTime"])
	assert.Equal(t, stamp(clock.Now()), ts["endDateTime"])
	assert.Equal(t, []any{"Profile"}, ts["results"])
	require.Len(t, ts["resultList"], 1)
	assert.Equal(t, "Profile", ts["resultList"].([]any)[0].(map[string]any)["id"])
	fileURL := resultURLs(t, ts)[0]
	assert.True(t, strings.HasPrefix(fileURL, h.s.StorageURL+"/files/"+a.ID+"/"+a.Tasks[0]+"/Profile?"), fileURL)

	status, content := h.download(fileURL)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "%PDF-1.7 profile", string(content))

	clock.Advance(time.Second)
	h.s.FailBatchTask(a.ID, a.Tasks[1], "template error: boom")
	_, ts = h.get(taskPath(1))
	assert.Equal(t, true, ts["completed"])
	assert.Equal(t, true, ts["errors"])
	assert.Equal(t, "template error: boom", ts["statusMessage"])
	require.Len(t, ts["log"], 1)
	assert.Contains(t, ts["log"].([]any)[0], "SEVERE")

	_, bs = h.get(batchPath)
	assert.Equal(t, false, bs["completed"])
	assert.Equal(t, true, bs["errors"])

	clock.Advance(time.Second)
	h.s.CompleteBatch(a.ID)
	_, bs = h.get(batchPath)
	assert.Equal(t, true, bs["completed"])
	assert.Equal(t, true, bs["errors"])
	assert.Equal(t, "Completed", bs["statusMessage"])
	assert.Equal(t, stamp(clock.Now()), bs["completedDateTime"])

	b, _ := h.s.Batch(a.ID)
	assert.Equal(t, []dynamotest.Stage{dynamotest.StageDone, dynamotest.StageFailed, dynamotest.StageDone},
		[]dynamotest.Stage{b.Tasks[0].Stage, b.Tasks[1].Stage, b.Tasks[2].Stage})
	assert.Equal(t, []string{"", "template error: boom", ""}, []string{b.Tasks[0].Failure, b.Tasks[1].Failure, b.Tasks[2].Failure})
	assert.Equal(t, "Profile", b.Tasks[0].Results[0].ID)
	assert.Equal(t, started, b.Tasks[0].StartedAt)

	status, m := h.get("/v1/batch/" + strings.Repeat("0", 32))
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotEmpty(t, m["message"])
	status, _ = h.get(batchPath + "/not-a-task")
	assert.Equal(t, http.StatusNotFound, status)

	assert.Panics(t, func() { h.s.StartBatchTask("nope", a.Tasks[0]) })
	assert.Panics(t, func() { h.s.CompleteBatchTask(a.ID, "nope") })
	assert.Panics(t, func() { h.s.FailBatchTask("nope", "nope", "x") })
	assert.Panics(t, func() { h.s.CompleteBatch("nope") })
}

func TestAutoComplete(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t,
		dynamotest.WithClock(clock.Now),
		dynamotest.WithAutoComplete(time.Minute),
		dynamotest.WithResultFiles("Profile", "Summary"),
	)
	a := h.mustPost(2)
	posted := clock.Now()
	h.s.StartBatchTask(a.ID, a.Tasks[1]) // driven by the test: auto-completion leaves it alone

	clock.Advance(59 * time.Second)
	_, bs := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, false, bs["completed"])
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	assert.Equal(t, "Queued", ts["statusMessage"])

	clock.Advance(time.Second)
	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	assert.Equal(t, "Completed", ts["statusMessage"])
	assert.Equal(t, true, ts["completed"])
	assert.Equal(t, stamp(posted), ts["startDateTime"])
	assert.Equal(t, stamp(posted.Add(time.Minute)), ts["endDateTime"])
	assert.Equal(t, []any{"Profile", "Summary"}, ts["results"])

	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[1])
	assert.Equal(t, "Running", ts["statusMessage"])

	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	status, content := h.download(resultURLs(t, ts)[1])
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "result Summary of task "+a.Tasks[0], string(content))

	// A batch posted later is judged on its own posting time, also through Batches.
	b := h.mustPost(1)
	got := h.s.Batches()
	require.Len(t, got, 2)
	assert.Equal(t, dynamotest.StageDone, got[0].Tasks[0].Stage)
	assert.Equal(t, dynamotest.StagePosted, got[1].Tasks[0].Stage)
	clock.Advance(time.Minute)
	got2, _ := h.s.Batch(b.ID)
	assert.Equal(t, dynamotest.StageDone, got2.Tasks[0].Stage)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPost(1)

	clock.Advance(24 * time.Hour)
	status, _ := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusOK, status)

	clock.Advance(time.Millisecond)
	status, m := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotEmpty(t, m["message"])
	status, _ = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	assert.Equal(t, http.StatusNotFound, status)

	assert.Len(t, h.s.Batches(), 1)
}

func TestStorage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	content := bytes.Repeat([]byte{0, 1, 2, 3}, 1000)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Doc 1", Content: content})

	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	list := ts["resultList"].([]any)
	require.Len(t, list, 1)
	url := list[0].(map[string]any)["url"].(string)
	assert.True(t, strings.HasPrefix(url, h.s.StorageURL+"/files/"))

	req := mustNewRequest(t, http.MethodGet, url)
	req.Header.Set("X-Trace", "abc")
	resp, got := h.do(req)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, int64(len(content)), resp.ContentLength)
	assert.Equal(t, content, got)

	// Without the signed query, even an existing file is refused.
	resp, _ = h.do(mustNewRequest(t, http.MethodGet, strings.Split(url, "?")[0]))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// A storage request that carries the API key is recorded with it, so a leak shows.
	req = mustNewRequest(t, http.MethodGet, url)
	req.Header.Set("x-dynamo-api-key", h.s.APIKey)
	resp, _ = h.do(req)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	sr := h.s.StorageRequests()
	require.Len(t, sr, 3)
	assert.Equal(t, "abc", sr[0].Header.Get("X-Trace"))
	assert.Empty(t, sr[0].Header.Get("x-dynamo-api-key"))
	assert.Empty(t, sr[0].Header.Get("x-dynamo-tenant-id"))
	assert.False(t, sr[0].HasAPIKey)
	assert.Equal(t, http.StatusOK, sr[0].Status)
	assert.Equal(t, http.StatusForbidden, sr[1].Status)
	assert.True(t, sr[2].HasAPIKey)
	assert.Equal(t, h.s.APIKey, sr[2].Header.Get("x-dynamo-api-key"))
	assert.Len(t, h.s.Requests(), 2, "downloads do not reach the API host")
}

func TestFaultStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.s.Inject(dynamotest.RoutePostBatch,
		dynamotest.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"2"}}},
		dynamotest.Fault{Status: http.StatusTooManyRequests, Body: "slow down"},
	)
	body := jsonBatch(1)

	req := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(body), "application/json")
	resp, raw := h.do(req)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Equal(t, "Service Unavailable", message(t, raw))

	status, raw := h.postJSON(body)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "slow down", string(raw))

	// The queue is empty now; other routes were never affected.
	h.mustPost(1)
	reqs := h.s.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, []int{503, 429, 202}, []int{reqs[0].Status, reqs[1].Status, reqs[2].Status})
	assert.Zero(t, reqs[0].BytesRead, "a faulted request's body is not read")
	assert.Len(t, h.s.Batches(), 1)

	// Faults on status routes and on the storage host.
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "r", Content: []byte("x")})
	h.s.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Status: http.StatusBadGateway})
	h.s.Inject(dynamotest.RouteBatchTaskStatus, dynamotest.Fault{Status: http.StatusInternalServerError})
	h.s.Inject(dynamotest.RouteDownload, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	status, _ = h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusBadGateway, status)
	status, _ = h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusOK, status)
	status, _ = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	assert.Equal(t, http.StatusInternalServerError, status)
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	fileURL := resultURLs(t, ts)[0]
	resp, _ = h.do(mustNewRequest(t, http.MethodGet, fileURL))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, _ = h.do(mustNewRequest(t, http.MethodGet, fileURL))
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	assert.Panics(t, func() { h.s.Inject("GET /nowhere", dynamotest.Fault{}) })
}

func TestFaultDropAfterAccept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropAfterAccept: true})
	body := jsonBatch(2)
	req := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(body), "application/json")
	resp, err := h.hc.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, io.EOF)

	assert.Len(t, h.s.Batches(), 1, "the batch was created although no answer came")
	reqs := h.s.Requests()
	require.Len(t, reqs, 1)
	assert.Zero(t, reqs[0].Status)
	assert.Equal(t, int64(len(body)), reqs[0].BytesRead)
}

func TestFaultDropBeforeRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropBeforeRead: true})
	req := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(jsonBatch(1)), "application/json")
	resp, err := h.hc.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)

	assert.Empty(t, h.s.Batches())
	reqs := h.s.Requests()
	require.Len(t, reqs, 1)
	assert.Zero(t, reqs[0].Status)
	assert.Zero(t, reqs[0].BytesRead)
}

func TestFaultHangEndedByClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := jsonBatch(1)
	rb := newReadingBody(body)
	req := h.newRequest(ctx, http.MethodPost, h.s.URL+"/v1/batch", nil, "application/json")
	expectContinue(req, rb, len(body))
	errs := make(chan error, 1)
	go func() {
		resp, err := h.hc.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	receive(t, rb.reading) // the handler is reading: the hang has begun
	cancel()
	assert.ErrorIs(t, receive(t, errs), context.Canceled)
	assert.Empty(t, h.s.Batches())

	// The next request is handled normally.
	h.mustPost(1)

	// Close waits for every handler, so the records are final.
	h.s.Close()
	reqs := h.s.Requests()
	require.Len(t, reqs, 2)
	assert.Zero(t, reqs[0].Status, "a hung request gets no answer")
	assert.LessOrEqual(t, reqs[0].BytesRead, int64(len(body)))
	assert.Equal(t, http.StatusAccepted, reqs[1].Status)
}

func TestFaultsEndedByClose(t *testing.T) {
	t.Parallel()
	opt, accepts := onAccept()
	h := newHarness(t, opt)
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true})
	h.s.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Hold: make(chan struct{})})
	errs := make(chan error, 2)
	send := func(req *http.Request) {
		go func() {
			resp, err := h.hc.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	body := jsonBatch(1)
	rb := newReadingBody(body)
	hung := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", nil, "application/json")
	expectContinue(hung, rb, len(body))
	send(hung)
	send(h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/task", strings.NewReader(standaloneTask), "application/json"))
	receive(t, rb.reading)
	receive(t, accepts)

	closed := make(chan struct{})
	go func() {
		h.s.Close()
		close(closed)
	}()
	receive(t, closed)
	for range 2 {
		assert.Error(t, receive(t, errs), "a held request is ended by Close")
	}
	assert.Empty(t, h.s.Batches())
	assert.Len(t, h.s.Tasks(), 1, "the held post was stored")
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	const delay = 150 * time.Millisecond
	h.s.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Delay: delay})
	start := time.Now()
	status, m := h.get("/v1/batch/" + a.ID)
	assert.GreaterOrEqual(t, time.Since(start), delay)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Waiting", m["statusMessage"])

	// A delay combined with a status, ended early by the client.
	h.s.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Delay: time.Hour, Status: http.StatusServiceUnavailable})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	resp, err := h.hc.Do(h.newRequest(ctx, http.MethodGet, h.s.URL+"/v1/batch/"+a.ID, nil, ""))
	if resp != nil {
		resp.Body.Close()
	}
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConcurrentPosts(t *testing.T) {
	t.Parallel()
	var accepts atomic.Int64
	h := newHarness(t, dynamotest.WithAutoComplete(time.Millisecond), dynamotest.WithOnAccept(func(dynamotest.Accepted) { accepts.Add(1) }))
	const workers, each = 8, 10
	var wg sync.WaitGroup
	ids := make(chan string, 2*workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req := h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(jsonBatch(3)), "application/json")
				resp, err := h.hc.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				var a accepted
				assert.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
				resp.Body.Close()
				assert.Equal(t, http.StatusAccepted, resp.StatusCode)
				ids <- a.ID
				_ = h.s.Requests()
				_ = h.s.Batches()
				if _, ok := h.s.Batch(a.ID); assert.True(t, ok) {
					h.s.CompleteBatchTask(a.ID, a.Tasks[0])
				}

				req = h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/task", strings.NewReader(standaloneTask), "application/json")
				resp, err = h.hc.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				var task acceptedTask
				assert.NoError(t, json.NewDecoder(resp.Body).Decode(&task))
				resp.Body.Close()
				ids <- task.TaskID
				_ = h.s.Tasks()
				h.s.StartTask(task.TaskID)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		assert.False(t, seen[id], "duplicate ID")
		seen[id] = true
	}
	assert.Len(t, seen, 2*workers*each)
	assert.Len(t, h.s.Batches(), workers*each)
	assert.Len(t, h.s.Tasks(), workers*each)
	assert.Len(t, h.s.Requests(), 2*workers*each)
	assert.Equal(t, int64(2*workers*each), accepts.Load(), "callbacks run before the answer")
	assert.Equal(t, workers*each+1, h.mustPostTask(standaloneTask).Usage.API.Term)
}
