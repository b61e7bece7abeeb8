package main

import (
	"os"
	"strings"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// batchJSON is the --json output of status and wait.
type batchJSON struct {
	ID            string `json:"id"`
	Completed     bool   `json:"completed"`
	Errors        bool   `json:"errors"`
	StatusMessage string `json:"statusMessage"`
	Tasks         []struct {
		ID        string `json:"id"`
		Completed bool   `json:"completed"`
		Errors    bool   `json:"errors"`
	} `json:"tasks"`
}

func TestStatus(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1", "--id", "2")

	r := runWith(t, env, "status", out.ID)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, out.ID, "Waiting", "0/2 tasks completed", out.Tasks[0], out.Tasks[1])

	srv.CompleteBatchTask(out.ID, out.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("pdf")})
	srv.FailBatchTask(out.ID, out.Tasks[1], "template error\x1b[31m: no field Name")
	r = runWith(t, env, "--json", "status", out.ID)
	wantCode(t, r, exitTaskErrors)
	var st batchJSON
	decodeJSON(t, r, &st)
	if st.ID != out.ID || !st.Completed || !st.Errors || len(st.Tasks) != 2 || !st.Tasks[1].Errors {
		t.Errorf("status %+v", st)
	}

	r = runWith(t, env, "status", out.ID, out.Tasks[0])
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "Completed", "result     Profile")

	r = runWith(t, env, "status", out.ID, out.Tasks[1])
	wantCode(t, r, exitTaskErrors)
	wantContains(t, "stdout", r.stdout, "SEVERE template error?[31m: no field Name")
	if strings.Contains(r.stdout, "\x1b") {
		t.Error("a control character from the server reached the terminal")
	}

	r = runWith(t, env, "--json", "status", out.ID, out.Tasks[0])
	wantCode(t, r, exitOK)
	var task struct {
		BatchID    string `json:"batchId"`
		ID         string `json:"id"`
		Completed  bool   `json:"completed"`
		ResultList []struct {
			ID, URL string
		} `json:"resultList"`
	}
	decodeJSON(t, r, &task)
	if task.BatchID != out.ID || task.ID != out.Tasks[0] || !task.Completed || len(task.ResultList) != 1 {
		t.Errorf("task %+v", task)
	}
}

func TestStatusUnknownBatch(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	r := runWith(t, env, "status", "nope")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "batch nope: GET /v1/batch/nope: 404", "posted more than 24 hours ago")
	if strings.Contains(r.stderr, "dynamo: batch nope: dynamo:") {
		t.Errorf("the message repeats its prefix: %s", r.stderr)
	}
	r = runWith(t, env, "status", "nope", "task")
	wantCode(t, r, exitFailed)
}

// A follow-up with --fake and no running fake says plainly that it needs
// one, instead of failing with "not found" from a new, empty fake.
func TestFakeFollowUpsNeedARunningFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"status", []string{"status", "b1"}}, {"status", []string{"status", "b1", "t1"}}, {"wait", []string{"wait", "b1"}},
		{"results", []string{"results", "b1", "--out", t.TempDir()}},
		{"task status", []string{"task", "status", "t-1"}}, {"task wait", []string{"task", "wait", "t-1"}},
		{"task results", []string{"task", "results", "t-1", "--out", t.TempDir()}},
	} {
		args := tc.args
		r := runWith(t, nil, append([]string{"--fake"}, args...)...)
		wantCode(t, r, exitUsage)
		wantContains(t, "stderr", r.stderr, "dynamo: "+tc.name+" --fake: without a running fake (DYNAMO_FAKE_URL is not set)",
			"Start 'dynamo fake' in another terminal")
		if strings.Contains(r.stderr, "404") || strings.Contains(r.stderr, "in-process fake server at") {
			t.Errorf("%v: a fake was started or asked:\n%s", args, r.stderr)
		}
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1", "--id", "2", "--id", "3")
	inv := startWith(t, env, "wait", out.ID)
	// The first status read shows the tasks queued; the batch completes
	// once the tool has said so.
	inv.stderr.waitFor(t, "batch "+out.ID+": 0/3 tasks completed")
	srv.CompleteBatch(out.ID)
	r := inv.wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "batch "+out.ID+": Completed (3/3 tasks completed)")
	// Not a terminal: plain lines, one per change, no bar.
	wantContains(t, "stderr", r.stderr, "batch "+out.ID+": 3/3 tasks completed")
	if strings.ContainsAny(r.stderr, "\r\x1b") || strings.Contains(r.stderr, "%") {
		t.Errorf("progress is not plain lines:\n%q", r.stderr)
	}
	if n := strings.Count(r.stderr, "0/3 tasks completed"); n != 1 {
		t.Errorf("an unchanged count was printed %d times:\n%s", n, r.stderr)
	}
}

func TestWaitTaskErrors(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1", "--id", "2")
	srv.FailBatchTask(out.ID, out.Tasks[0], "boom")
	srv.CompleteBatch(out.ID)
	r := runWith(t, env, "wait", out.ID)
	wantCode(t, r, exitTaskErrors)
	wantContains(t, "stdout", r.stdout, "2/2 tasks completed, 1 with errors", "task "+out.Tasks[0]+" had errors")

	r = runWith(t, env, "--json", "wait", out.ID)
	wantCode(t, r, exitTaskErrors)
	var st batchJSON
	decodeJSON(t, r, &st)
	if !st.Completed || !st.Errors || !st.Tasks[0].Errors || st.Tasks[1].Errors {
		t.Errorf("status %+v", st)
	}
}

func TestWaitProgressBar(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	out := post(t, f.env, "--id", "1", "--id", "2")
	r := runWith(t, f.env, "--progress", "bar", "wait", out.ID)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "100%", "(2/2")
}

func TestWaitUnknownBatch(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	r := runWith(t, env, "wait", "nope")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "waiting for batch nope", "404")
}

func TestWaitInterrupted(t *testing.T) {
	t.Parallel()
	_, env := newServer(t) // tasks never complete
	out := post(t, env, "--id", "1")
	inv := startWith(t, env, "wait", out.ID)
	inv.stderr.waitFor(t, "batch "+out.ID+": 0/1 tasks completed")
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "waiting for batch "+out.ID+": interrupted", "dynamo wait "+out.ID)
}
