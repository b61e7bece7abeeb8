package dynamotest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	task := h.mustPostTask(standaloneTask)
	batch, taskOfBatch := "/v1/batch/"+a.ID, "/v1/batch/"+a.ID+"/"+a.Tasks[0]
	single := "/v1/task/" + task.TaskID

	cases := []struct {
		method, path string
		want         int
		allow        string
	}{
		{"POST", "/v1/batch", 400, ""}, // known: refused for its empty body
		{"GET", batch, 200, ""},
		{"GET", taskOfBatch, 200, ""},
		{"POST", "/v1/task", 400, ""},
		{"GET", single, 200, ""},
		{"POST", "/v1//batch", 404, ""},
		{"POST", "//v1/batch", 404, ""},
		{"POST", "/v1/batch/", 404, ""},
		{"POST", "/v1/./batch", 404, ""},
		{"GET", "/v1//batch/" + a.ID, 404, ""},
		{"GET", batch + "/", 404, ""},
		{"GET", "/v1/batch//" + a.Tasks[0], 404, ""},
		{"GET", taskOfBatch + "/", 404, ""},
		{"GET", taskOfBatch + "/x", 404, ""},
		{"GET", "/v1/batch/../batch/" + a.ID, 404, ""},
		{"POST", "/v1//task", 404, ""},
		{"POST", "/v1/task/", 404, ""},
		{"GET", "/v1//task/" + task.TaskID, 404, ""},
		{"GET", single + "/", 404, ""},
		{"GET", single + "/x", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/v1", 404, ""},
		{"GET", "/v2/nothing", 404, ""},
		{"GET", "/v1/batches", 404, ""},
		{"GET", "/v1/batch", 405, "POST"},
		{"PUT", "/v1/batch", 405, "POST"},
		{"HEAD", "/v1/batch", 405, "POST"},
		{"POST", batch, 405, "GET, HEAD"},
		{"DELETE", batch, 405, "GET, HEAD"},
		{"HEAD", taskOfBatch, 200, ""},
		{"PUT", taskOfBatch, 405, "GET, HEAD"},
		{"GET", "/v1/task", 405, "POST"},
		{"HEAD", "/v1/task", 405, "POST"},
		{"POST", single, 405, "GET, HEAD"},
		{"PATCH", single, 405, "GET, HEAD"},
	}
	for _, tc := range cases {
		name := tc.method + " " + tc.path
		resp, body := h.send(tc.method, tc.path, "application/json", nil)
		assert.Equal(t, tc.want, resp.StatusCode, name)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"), name)
		assert.Empty(t, resp.Header.Get("Location"), name)
		if tc.method != "HEAD" && tc.want != http.StatusOK {
			assert.NotEmpty(t, message(t, body), name)
		}

		// Without credentials, every path is refused alike.
		req := mustNewRequest(t, tc.method, h.s.URL+tc.path)
		resp, _ = h.do(req)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name+" without credentials")
		assert.Empty(t, resp.Header.Get("Allow"), name+" without credentials")
	}
}

func TestRoutingCreatesNothingOffPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/v1//batch", "/v1/batch/", "/v1//task", "/v1/task/"} {
		body := jsonBatch(1)
		if strings.Contains(path, "task") {
			body = standaloneTask
		}
		resp, _ := h.send(http.MethodPost, path, "application/json", strings.NewReader(body))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
	assert.Empty(t, h.s.Batches())
	assert.Empty(t, h.s.Tasks())
}

func TestRoutingConsumesFaultsOnlyOnItsRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	for _, probe := range []struct{ method, path string }{{"GET", "/v1/batch"}, {"POST", "/v1//batch"}, {"POST", "/v1/task"}} {
		resp, _ := h.send(probe.method, probe.path, "application/json", nil)
		assert.NotEqual(t, http.StatusServiceUnavailable, resp.StatusCode, probe)
	}
	status, _ := h.postJSON(jsonBatch(1))
	assert.Equal(t, http.StatusServiceUnavailable, status)
}

func TestStorageRouting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("x")})
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	fileURL := resultURLs(t, ts)[0]
	path, query, _ := strings.Cut(strings.TrimPrefix(fileURL, h.s.StorageURL), "?")

	cases := []struct {
		method, path string
		want         int
		code, allow  string
	}{
		{"GET", path, 200, "", ""},
		{"HEAD", path, 200, "", ""},
		{"POST", path, 405, "MethodNotAllowed", "GET, HEAD"},
		{"PUT", path, 405, "MethodNotAllowed", "GET, HEAD"},
		{"GET", "/" + path, 404, "NoSuchKey", ""},
		{"GET", path + "/", 404, "NoSuchKey", ""},
		{"GET", "/files/" + a.ID, 404, "NoSuchKey", ""},
		{"GET", "/elsewhere", 404, "NoSuchKey", ""},
	}
	for _, tc := range cases {
		name := tc.method + " " + tc.path
		resp, body := h.do(mustNewRequest(t, tc.method, h.s.StorageURL+tc.path+"?"+query))
		assert.Equal(t, tc.want, resp.StatusCode, name)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"), name)
		if tc.code != "" {
			assert.Equal(t, "application/xml", resp.Header.Get("Content-Type"), name)
			assert.Contains(t, string(body), "<Code>"+tc.code+"</Code>", name)
		}
	}
}
