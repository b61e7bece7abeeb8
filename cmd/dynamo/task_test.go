package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	wantContains(t, "stdout", r.stdout, "accepted", "API calls: 1 of 10000 this term", "signatures: 0 of 1000 this term")
	wantRows(t, r.stdout, "status", "Ready", "completed", "yes", "result", "Document")
	wantContains(t, "stderr", r.stderr, "--fake: using an in-process fake server", ": Ready, ")
}

func TestTaskPostByReference(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := postTask(t, env, "--template", "069000000000001", "--param", "locale=fi-FI")
	posted, ok := srv.Task(out.TaskID)
	if !ok || posted.Template != "069000000000001" || posted.Params["locale"] != "fi-FI" || posted.Integration != nil {
		t.Fatalf("posted %+v (%v)", posted, ok)
	}
	if out.Message != "Success" || out.Usage.API.Term != 1 || out.Usage.API.TermMax != 10000 || out.Status != nil {
		t.Errorf("output %+v", out)
	}
}

func TestTaskPostSalesforce(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	env["DYNAMO_SF_SESSION_ID"] = "sess"
	env["DYNAMO_SF_SERVER_URL"] = "https://acme.my.salesforce.com"

	// The record is required with a session: the SDK says so, nothing is sent.
	r := runWith(t, env, "task", "post", "--template", "T")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "the task is invalid, nothing was sent", "params.id: is required", "--param id=RECORD")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for an invalid task", n)
	}

	out := postTask(t, env, "--template", "T", "--param", "id=001A")
	posted, _ := srv.Task(out.TaskID)
	if posted.Integration["sessionID"] != "sess" || posted.Params["id"] != "001A" {
		t.Errorf("posted %+v", posted)
	}
	if strings.Contains(r.stdout+r.stderr, "sess\n") {
		t.Error("the output shows the session")
	}
}

func TestTaskPostEmbeddedWithParts(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	dap := writeFile(t, "letter.dap", strings.Repeat("DAP!", 100))
	extra := writeFile(t, "extra.json", `{"rates": [1.5, 2]}`)
	out := postTask(t, env, "--dap", dap, "--part", "extra="+extra, "--param", "year=2024")
	posted, _ := srv.Task(out.TaskID)
	if posted.EmbeddedTemplate == nil || posted.EmbeddedTemplate.FileName != "letter.dap" || posted.EmbeddedTemplate.Size != 400 || posted.Params["year"] != "2024" {
		t.Fatalf("posted %+v", posted)
	}
	rates, _ := posted.Params["extra"].(map[string]any)["rates"].([]any)
	if len(rates) != 2 {
		t.Errorf("param extra = %v", posted.Params["extra"])
	}
}

func TestTaskPostUsageErrors(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
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
		{"no command", []string{"task"}, "give a command: post, status, wait or results"},
		{"unknown command", []string{"task", "frob"}, `unknown command "frob"`},
		{"results no out", []string{"task", "results", "t-1"}, "--out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, env, tc.args...)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, tc.want)
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("bad usage sent %d requests", n)
	}
}

func TestTaskStatusWaitResults(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := postTask(t, env, "--template", "T")
	r := runWith(t, env, "task", "status", out.TaskID)
	wantCode(t, r, exitOK)
	wantRows(t, r.stdout, "task", out.TaskID, "status", "Received", "completed", "no")

	dir := filepath.Join(t.TempDir(), "out")
	r = runWith(t, env, "task", "results", out.TaskID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "has not completed yet (Received)", "dynamo task wait "+out.TaskID)

	inv := startWith(t, env, "--json", "task", "wait", out.TaskID)
	inv.stderr.waitFor(t, "task "+out.TaskID+": Received")
	srv.CompleteTask(out.TaskID, dynamotest.ResultFile{ID: "Letter.pdf", Content: []byte("%PDF")},
		dynamotest.ResultFile{ID: "../escaped", Content: []byte("x")})
	r = inv.wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "task "+out.TaskID+": Ready")
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
	f := newFake(t)
	f.setOnAcceptTask(func(srv *dynamotest.Server, id string) { srv.FailTask(id, "template error: no field Name") })
	env := f.env
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
	_, env := newServer(t)
	for _, cmd := range []string{"status", "wait"} {
		r := runWith(t, env, "task", cmd, "t-nope")
		wantCode(t, r, exitFailed)
		wantContains(t, "stderr", r.stderr, "task t-nope", "404", "its status is no longer kept")
	}
}

func TestTaskPostOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Status: http.StatusGatewayTimeout,
		Header: http.Header{"X-Request-Id": {"req-42"}}, Body: `{"message": "upstream timed out"}`})
	r := runWith(t, env, "task", "post", "--template", "T")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "posting the task", "504", "req-42", "may have been created", "Dynamo console")
	if n := posts(srv); n != 1 {
		t.Errorf("%d posts, want 1: a post of unknown outcome is never sent again", n)
	}
}

// An interrupt while a post is in flight may leave a task behind: the
// message says so rather than only "interrupted".
func TestTaskPostInterrupted(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Hold: make(chan struct{})}) // never answered
	inv := startWith(t, f.env, "task", "post", "--template", "T")
	f.awaitAccepted(t, 1)
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "posting the task: interrupted after the request was sent, so it may have been created", "Dynamo console")
}
