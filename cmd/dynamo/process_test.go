//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

// These tests run the tool as a process of its own (the test binary, which
// TestMain turns into the tool when envRunTool is set) against a fake in
// this process, and stop it with real signals.
//
// They do not run in parallel with the others: a child forked while an
// in-process test holds a journal's lock shares the lock until it execs, so
// that test's next run on the journal could find it in use.

// tool is the tool running as a child process.
type tool struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr lineWriter
	done   chan struct{}
}

// startTool runs the tool with args, its environment env and nothing else.
func startTool(t *testing.T, env map[string]string, args ...string) *tool {
	t.Helper()
	tl := &tool{done: make(chan struct{})}
	tl.cmd = exec.Command(os.Args[0], append([]string{"--poll-interval=5ms"}, args...)...)
	// A binary built with -race sleeps a second before it exits, unless told
	// not to.
	tl.cmd.Env = []string{envRunTool + "=1", "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	for k, v := range env {
		tl.cmd.Env = append(tl.cmd.Env, k+"="+v)
	}
	tl.cmd.Stdout, tl.cmd.Stderr = &tl.stdout, &tl.stderr
	if err := tl.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = tl.cmd.Wait()
		close(tl.done)
	}()
	t.Cleanup(func() {
		_ = tl.cmd.Process.Kill()
		<-tl.done
	})
	return tl
}

// signal sends sig to the tool.
func (tl *tool) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := tl.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the tool to exit; a tool killed by a signal exits -1.
func (tl *tool) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-tl.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the tool did not exit\n--- stderr\n%s", tl.stderr.String())
	}
	return result{code: tl.cmd.ProcessState.ExitCode(), stdout: tl.stdout.String(), stderr: tl.stderr.String()}
}

// bulkJob is a bulk job of 10 records in 5 chunks, 2 posted at once, with a
// journal, run by child processes against one fake.
type bulkJob struct {
	f       *testFake
	args    []string
	release func() // lets the held posts be answered
}

func newBulkJob(t *testing.T) *bulkJob {
	f := newFake(t)
	csv := writeFile(t, "accounts.csv", records(10))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	return &bulkJob{f: f, release: func() {}, args: []string{"bulk", "--template", "T", "--csv", csv, "--journal", journal,
		"--chunk-size", "2", "--concurrency", "2"}}
}

// start runs the job in a child process, without waiting for its batches.
func (j *bulkJob) start(t *testing.T, extra ...string) *tool {
	return startTool(t, j.f.env, append(append(append([]string{}, j.args...), "--no-wait"), extra...)...)
}

// startHeld runs the job with the answers of its first two posts held (see
// dynamotest.Fault.Hold), and returns once both are in flight: accepted by
// the fake, unanswered.
func (j *bulkJob) startHeld(t *testing.T) *tool {
	j.release = j.f.holdPosts(2)
	tl := j.start(t)
	j.f.awaitAccepted(t, 2)
	return tl
}

// rerun runs the job again, to its end, and returns its report.
func (j *bulkJob) rerun(t *testing.T, wantExit int) (result, bulkJSON) {
	t.Helper()
	r := j.start(t, "--json").wait(t)
	wantCode(t, r, wantExit)
	var rep bulkJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("the re-run's report: %v\n%s", err, r)
	}
	return r, rep
}

// wantHeldUnknown fails unless the report has the first two chunks, those
// that were in flight, of unknown outcome.
func wantHeldUnknown(t *testing.T, rep bulkJSON) {
	t.Helper()
	for _, ch := range rep.Chunks[:2] {
		if ch.State != "unknown" || ch.PostedAt == "" {
			t.Errorf("chunk %d, in flight when the first run ended: %+v, want unknown with its posting time", ch.Index, ch)
		}
	}
}

// (a) A run killed while posts are in flight leaves them of unknown outcome:
// the next run reports them so and posts only the others.
func TestProcessKilledWhilePosting(t *testing.T) {
	j := newBulkJob(t)
	tl := j.startHeld(t)
	if err := tl.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	tl.wait(t)
	j.release()

	r, rep := j.rerun(t, exitFailed)
	wantCounts(t, rep, map[string]int{"unknown": 2, "accepted": 3})
	wantHeldUnknown(t, rep)
	wantContains(t, "stderr", r.stderr, "2 chunks of unknown outcome", "an earlier run posted it and did not learn its outcome",
		"IDs "+recordID(0)+" to "+recordID(1), "posted at ", "Dynamo console", "--repost-unknown")
	if n := posts(j.f.srv); n != 5 {
		t.Errorf("%d posts, want 5: the unknown chunks are not posted again", n)
	}
	wantEachOnce(t, j.f.srv, 10)
}

// (b) One interrupt: the posts in flight finish and are recorded accepted,
// no other chunk starts, and the next run posts only the rest.
func TestProcessInterruptedOnce(t *testing.T) {
	j := newBulkJob(t)
	tl := j.startHeld(t)
	tl.signal(t, os.Interrupt)
	tl.stderr.waitFor(t, "interrupt: no new chunk will start; waiting up to 30s for 2 posts in flight; interrupt again to abort")
	j.release()
	r := tl.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "stopped by an interrupt: the posts in flight finished; 3 chunks (records [4, 10)) were not started",
		"Run the same command again")
	wantContains(t, "stdout", r.stdout, "chunks: 2 accepted, 0 skipped (accepted by an earlier run), 0 failed, 0 unknown, 3 not started")
	if n := posts(j.f.srv); n != 2 {
		t.Errorf("%d posts, want the 2 in flight", n)
	}

	_, rep := j.rerun(t, exitOK)
	wantCounts(t, rep, map[string]int{"skipped": 2, "accepted": 3})
	if n := posts(j.f.srv); n != 5 {
		t.Errorf("%d posts, want 5", n)
	}
	wantEachOnce(t, j.f.srv, 10)
}

// (c) A second interrupt aborts the posts in flight: their chunks are
// recorded unknown, and the next run does not post them again.
func TestProcessInterruptedTwice(t *testing.T) {
	j := newBulkJob(t)
	tl := j.startHeld(t)
	tl.signal(t, os.Interrupt)
	tl.stderr.waitFor(t, "interrupt again to abort")
	tl.signal(t, os.Interrupt)
	r := tl.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "interrupt again: aborting the 2 posts in flight; their chunks are of unknown outcome",
		"2 chunks of unknown outcome", "the post was aborted after its request was sent", "--repost-unknown")
	j.release()

	r, rep := j.rerun(t, exitFailed)
	wantCounts(t, rep, map[string]int{"unknown": 2, "accepted": 3})
	wantHeldUnknown(t, rep)
	wantContains(t, "stderr", r.stderr, "--repost-unknown")
	if n := posts(j.f.srv); n != 5 {
		t.Errorf("%d posts, want 5: the unknown chunks are not posted again", n)
	}
	wantEachOnce(t, j.f.srv, 10)
}

// (d) A second run on a journal in use fails at once and posts nothing.
func TestProcessJournalInUse(t *testing.T) {
	j := newBulkJob(t)
	first := j.startHeld(t)
	r := j.start(t).wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "is in use by another run of dynamo bulk", "nothing was posted")
	if n := posts(j.f.srv); n != 2 {
		t.Errorf("%d posts, want only the first run's 2", n)
	}
	_ = first.cmd.Process.Kill()
	first.wait(t)
}

// (e) A post answered 201 instead of the documented 202 was taken: it is
// accepted, not failed, and its batch is followed.
func TestProcessAccepted201(t *testing.T) {
	j := newBulkJob(t)
	for range 5 {
		j.f.srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{SuccessStatus: http.StatusCreated})
	}
	j.f.completeOnAccept()
	r := startTool(t, j.f.env, append([]string{"--json"}, j.args...)...).wait(t)
	wantCode(t, r, exitOK)
	var rep bulkJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r)
	}
	wantCounts(t, rep, map[string]int{"accepted": 5})
	if rep.Tasks.Completed != 10 {
		t.Errorf("%d tasks completed, want 10", rep.Tasks.Completed)
	}
	for _, req := range j.f.srv.Requests() {
		if req.Method == http.MethodPost && req.Status != http.StatusCreated {
			t.Errorf("a post was answered %d, want 201", req.Status)
		}
	}
	wantEachOnce(t, j.f.srv, 10)
}
