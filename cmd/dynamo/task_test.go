package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// taskPostJSON is task post's --json output.
type taskPostJSON struct {
	TaskID  string `json:"taskID"`
	Message string `json:"message"`
	Usage   struct {
		API     struct{ Term, TermMax int } `json:"api"`
		Signing struct{ Term, TermMax int } `json:"signing"`
	} `json:"usage"`
	Status *struct {
		TaskID        string `json:"taskID"`
		Completed     bool   `json:"completed"`
		Errors        bool   `json:"errors"`
		StatusMessage string `json:"statusMessage"`
	} `json:"status"`
}

// newTaskFake starts the tool's fake of both APIs, whose tasks complete only
// when the test drives them.
func newTaskFake(t *testing.T) (*fakeAPI, map[string]string) {
	t.Helper()
	f := newFakeAPI(0)
	t.Cleanup(f.Close)
	return f, map[string]string{"DYNAMO_BASE_URL": f.URL, "DYNAMO_TENANT_ID": f.TenantID, "DYNAMO_API_KEY": f.APIKey}
}

// postTask posts a task with --json and returns what it printed.
func postTask(t *testing.T, env map[string]string, args ...string) taskPostJSON {
	t.Helper()
	r := runWith(t, env, append([]string{"--json", "task", "post"}, args...)...)
	wantCode(t, r, exitOK)
	var out taskPostJSON
	decodeJSON(t, r, &out)
	return out
}

// wantRows fails unless the table in s has each row of rows, given as name
// and value pairs.
func wantRows(t *testing.T, s string, rows ...string) {
	t.Helper()
	for i := 0; i+1 < len(rows); i += 2 {
		found := false
		for _, line := range strings.Split(s, "\n") {
			name, value, _ := strings.Cut(line, " ")
			if name == rows[i] && strings.TrimSpace(value) == rows[i+1] {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q %q in:\n%s", rows[i], rows[i+1], s)
		}
	}
}

func TestTaskPostFakeWait(t *testing.T) {
	t.Parallel()
	// A delay of 1ns: the task is complete when it is first read.
	r := runWith(t, nil, "--fake", "--fake-delay=1ns", "task", "post", "--template", "T", "--param", "id=001", "--wait")
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "accepted", "API calls: 1 of 10000 this term", "signatures: 0 of 100 this term")
	wantRows(t, r.stdout, "status", "Ready", "completed", "yes", "result", "Document")
	wantContains(t, "stderr", r.stderr, "--fake: using an in-process fake server", ": Ready, ")
}

func TestTaskPostByReference(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	out := postTask(t, env, "--template", "069000000000001", "--param", "locale=fi-FI")
	posted, ok := f.task(out.TaskID)
	if !ok || posted.Template != "069000000000001" || posted.Params["locale"] != "fi-FI" || posted.Integration != nil {
		t.Fatalf("posted %+v (%v)", posted, ok)
	}
	if out.Message != "Success" || out.Usage.API.Term != 1 || out.Usage.API.TermMax != 10000 || out.Status != nil {
		t.Errorf("output %+v", out)
	}
}

func TestTaskPostSalesforce(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	env["DYNAMO_SF_SESSION_ID"] = "sess"
	env["DYNAMO_SF_SERVER_URL"] = "https://acme.my.salesforce.com"

	// The record is required with a session: the SDK says so, nothing is sent.
	r := runWith(t, env, "task", "post", "--template", "T")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "the task is invalid, nothing was sent", "params.id: is required", "--param id=RECORD")

	out := postTask(t, env, "--template", "T", "--param", "id=001A")
	posted, _ := f.task(out.TaskID)
	if posted.Integration == nil || (*posted.Integration)["sessionID"] != "sess" || posted.Params["id"] != "001A" {
		t.Errorf("posted %+v", posted)
	}
	if strings.Contains(r.stdout+r.stderr, "sess\n") {
		t.Error("the output shows the session")
	}
}

func TestTaskPostEmbeddedWithParts(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	dap := writeFile(t, "letter.dap", strings.Repeat("DAP!", 100))
	extra := writeFile(t, "extra.json", `{"rates": [1.5, 2]}`)
	out := postTask(t, env, "--dap", dap, "--part", "extra="+extra, "--param", "year=2024")
	posted, _ := f.task(out.TaskID)
	if posted.TemplateFile != "letter.dap" || posted.Params["year"] != "2024" {
		t.Fatalf("posted %+v", posted)
	}
	rates, _ := posted.Params["extra"].(map[string]any)["rates"].([]any)
	if len(rates) != 2 {
		t.Errorf("param extra = %v", posted.Params["extra"])
	}
}

func TestTaskPostUsageErrors(t *testing.T) {
	t.Parallel()
	_, env := newTaskFake(t)
	data := writeFile(t, "data.json", `{}`)
	dap := writeFile(t, "t.dap", "DAP")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no template", []string{"task", "post"}, "--template ID or --dap FILE"},
		{"part without dap", []string{"task", "post", "--template", "T", "--part", "x=" + data}, "--part needs"},
		{"part and param", []string{"task", "post", "--dap", dap, "--part", "x=" + data, "--param", "x=1"}, "--param x sets the same param"},
		{"param twice", []string{"task", "post", "--template", "T", "--param", "id=1", "--param", "id=2"}, "--param id: given twice"},
		{"status no task", []string{"task", "status"}, "dynamo task status"},
		{"results no out", []string{"task", "results", "t-1"}, "--out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, env, tc.args...)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, tc.want)
		})
	}
}

func TestTaskStatusWaitResults(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	out := postTask(t, env, "--template", "T")
	r := runWith(t, env, "task", "status", out.TaskID)
	wantCode(t, r, exitOK)
	wantRows(t, r.stdout, "task", out.TaskID, "status", "Queued", "completed", "no")

	dir := filepath.Join(t.TempDir(), "out")
	r = runWith(t, env, "task", "results", out.TaskID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "has not completed yet (Queued)", "dynamo task wait "+out.TaskID)

	f.completeTask(out.TaskID, dynamotest.ResultFile{ID: "Letter.pdf", Content: []byte("%PDF")},
		dynamotest.ResultFile{ID: "../escaped", Content: []byte("x")})
	r = runWith(t, env, "--json", "task", "wait", out.TaskID)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, `"statusMessage": "Ready"`, `"taskID": "`+out.TaskID+`"`)

	r = runWith(t, env, "task", "results", out.TaskID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stdout", r.stdout, "1 files downloaded into "+dir)
	wantContains(t, "stderr", r.stderr, `result ID "../escaped": contains a path separator`, "1 of 2 result files could not be downloaded")
	if got, err := os.ReadFile(filepath.Join(dir, "Letter.pdf")); err != nil || string(got) != "%PDF" {
		t.Errorf("Letter.pdf: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); err == nil {
		t.Error("a result was written outside the output directory")
	}
}

func TestTaskCompletedWithErrors(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	f.onPost = func(id string) { f.failTask(id, "template error: no field Name") }
	r := runWith(t, env, "task", "post", "--template", "T", "--wait")
	wantCode(t, r, exitTaskErrors)
	wantRows(t, r.stdout, "errors", "yes", "log", "SEVERE template error: no field Name")

	out := postTask(t, env, "--template", "T")
	r = runWith(t, env, "task", "status", out.TaskID)
	wantCode(t, r, exitTaskErrors)
	r = runWith(t, env, "task", "results", out.TaskID, "--out", t.TempDir())
	wantCode(t, r, exitTaskErrors)
}

func TestTaskUnknown(t *testing.T) {
	t.Parallel()
	_, env := newTaskFake(t)
	for _, cmd := range []string{"status", "wait"} {
		r := runWith(t, env, "task", cmd, "t-nope")
		wantCode(t, r, exitFailed)
		wantContains(t, "stderr", r.stderr, "task t-nope", "404", "its status is no longer kept")
	}
}

func TestTaskPostOutcomeUnknown(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Request-Id", "req-42")
		http.Error(w, `{"message": "upstream timed out"}`, http.StatusGatewayTimeout)
	}))
	t.Cleanup(api.Close)
	env := map[string]string{"DYNAMO_BASE_URL": api.URL, "DYNAMO_TENANT_ID": "t", "DYNAMO_API_KEY": "k"}
	r := runWith(t, env, "task", "post", "--template", "T")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "posting the task", "504", "req-42", "may have been created", "Dynamo console")
	if n.Load() != 1 {
		t.Errorf("%d posts, want 1: a post of unknown outcome is never sent again", n.Load())
	}
}

// An interrupt while a post is in flight may leave a task behind: the
// message says so rather than only "interrupted".
func TestTaskPostInterrupted(t *testing.T) {
	t.Parallel()
	f, env := newTaskFake(t)
	accepted, release := make(chan string, 1), make(chan struct{})
	f.onPost = func(id string) {
		accepted <- id
		<-release
	}
	inv := startWith(t, env, "task", "post", "--template", "T")
	await(t, accepted, "the post")
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	close(release)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "posting the task: interrupted after the request was sent, so it may have been created", "Dynamo console")
}
