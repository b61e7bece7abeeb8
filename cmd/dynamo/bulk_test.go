package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// bulkJSON is bulk's --json report.
type bulkJSON struct {
	Records     int            `json:"records"`
	ChunkSize   int            `json:"chunkSize"`
	Counts      map[string]int `json:"counts"`
	Interrupted bool           `json:"interrupted"`
	Aborted     string         `json:"aborted"`
	Waited      bool           `json:"waited"`
	Tasks       struct {
		Followed, Completed, WithErrors, NotFollowed int
	} `json:"tasks"`
	Chunks []struct {
		Index, First, End int
		FirstID, LastID   string
		State, BatchID    string
		PostedAt          string
		Error, WaitError  string
		Followed          bool
	} `json:"chunks"`
}

// wantCounts fails unless the report counts the chunks of each state as
// want does (states not named: none).
func wantCounts(t *testing.T, rep bulkJSON, want map[string]int) {
	t.Helper()
	for _, s := range []string{"accepted", "skipped", "failed", "unknown", "not-started"} {
		if got, ok := rep.Counts[s]; !ok || got != want[s] {
			t.Errorf("%s chunks: %d (reported %v), want %d; counts %v", s, got, ok, want[s], rep.Counts)
		}
	}
}

func TestBulkWithJournal(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	csv := writeFile(t, "accounts.csv", records(2500))
	journal := filepath.Join(t.TempDir(), "run.jsonl")

	r := runWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--journal", journal)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "chunks: 3 accepted, 0 skipped", "tasks: 2500 completed, 0 with errors, of 2500 records")
	wantContains(t, "stderr", r.stderr, "2500 records from "+csv+" in 3 chunks", "2500/2500 tasks completed")
	// Chunks are posted two at a time, so they may arrive in any order.
	sizes := map[int]int{}
	for _, b := range f.srv.Batches() {
		sizes[len(b.Tasks)]++
		for _, task := range b.Tasks {
			if task.Params["id"] == recordID(2499) && task.Params["name"] != "Account 2499" {
				t.Errorf("last record posted as %v", task.Params)
			}
		}
	}
	if sizes[1000] != 2 || sizes[500] != 1 || len(sizes) != 2 {
		t.Fatalf("batch sizes %v", sizes)
	}
	wantEachOnce(t, f.srv, 2500)

	// The same job again: the journal skips every chunk, and the batches,
	// still known to this server, are followed again.
	r = runWith(t, f.env, "--json", "bulk", "--template", "T", "--csv", csv, "--journal", journal)
	wantCode(t, r, exitOK)
	var rep bulkJSON
	decodeJSON(t, r, &rep)
	wantCounts(t, rep, map[string]int{"skipped": 3})
	if rep.Tasks.Completed != 2500 || rep.Tasks.NotFollowed != 0 {
		t.Errorf("re-run report %+v", rep)
	}
	if c := rep.Chunks[2]; c.State != "skipped" || c.First != 2000 || c.End != 2500 || c.FirstID != recordID(2000) || c.LastID != recordID(2499) || c.PostedAt == "" {
		t.Errorf("chunk 2 reported as %+v", c)
	}
	if n := posts(f.srv); n != 3 {
		t.Errorf("%d posts in all, want the first run's 3", n)
	}

	// Another job with the same journal is refused before anything is sent.
	r = runWith(t, f.env, "bulk", "--template", "Other", "--csv", csv, "--journal", journal)
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "belongs to a different job")
	if n := posts(f.srv); n != 3 {
		t.Errorf("%d posts in all, want 3", n)
	}
}

func TestBulkFake(t *testing.T) {
	t.Parallel()
	csv := writeFile(t, "accounts.csv", records(2500))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	// A delay of 1ns: every task is complete when its batch is first read.
	args := []string{"--fake", "--fake-delay=1ns", "bulk", "--template", "T", "--csv", csv, "--journal", journal}
	r := runWith(t, nil, args...)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "chunks: 3 accepted", "tasks: 2500 completed")

	// A new fake server does not know the batches of the first run: they are
	// skipped and not followed, and that is not a failure.
	r = runWith(t, nil, append([]string{"--json"}, args...)...)
	wantCode(t, r, exitOK)
	var rep bulkJSON
	decodeJSON(t, r, &rep)
	wantCounts(t, rep, map[string]int{"skipped": 3})
	if rep.Tasks.NotFollowed != 2500 || rep.Tasks.Completed != 0 {
		t.Errorf("re-run report %+v", rep)
	}
	for _, ch := range rep.Chunks {
		if ch.State != "skipped" || ch.Followed || !strings.Contains(ch.WaitError, "another fake server") {
			t.Errorf("chunk %+v", ch)
		}
	}
}

func TestBulkTaskErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	// Each batch fails its first task and completes the others.
	f.setOnAccept(func(id string) {
		b, _ := f.srv.Batch(id)
		f.srv.FailBatchTask(id, b.Tasks[0].ID, "boom")
		f.srv.CompleteBatch(id)
	})
	csv := writeFile(t, "accounts.csv", records(5))
	r := runWith(t, f.env, "--json", "bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--concurrency", "3")
	wantCode(t, r, exitTaskErrors)
	var rep bulkJSON
	decodeJSON(t, r, &rep)
	wantCounts(t, rep, map[string]int{"accepted": 3})
	if rep.Tasks.Completed != 5 || rep.Tasks.WithErrors != 3 || len(rep.Chunks) != 3 {
		t.Errorf("report %+v", rep)
	}
}

func TestBulkChunkFailsThenResumes(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	csv := writeFile(t, "accounts.csv", records(5))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	f.srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 400, Body: `{"message": "quota"}`})
	args := []string{"bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--concurrency", "1", "--journal", journal}
	r := runWith(t, f.env, args...)
	wantCode(t, r, exitFailed)
	wantContains(t, "stdout", r.stdout, "chunks: 2 accepted, 0 skipped (accepted by an earlier run), 1 failed", "tasks: 3 completed")
	wantContains(t, "stderr", r.stderr, "1 chunk failed, creating nothing", "chunk 0 (records [0, 2), IDs "+recordID(0)+" to "+recordID(1)+")",
		"quota", "--journal "+journal)

	r = runWith(t, f.env, args...)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "chunks: 1 accepted, 2 skipped", "tasks: 5 completed")
	wantEachOnce(t, f.srv, 5)
}

func TestBulkOutcomeUnknown(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	csv := writeFile(t, "accounts.csv", records(3))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	f.srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropAfterAccept: true})
	args := []string{"bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--concurrency", "1", "--journal", journal}
	r := runWith(t, f.env, args...)
	wantCode(t, r, exitFailed)
	wantContains(t, "stdout", r.stdout, "1 unknown")
	wantContains(t, "stderr", r.stderr, "1 chunk of unknown outcome",
		"chunk 0 (records [0, 2), IDs "+recordID(0)+" to "+recordID(1)+"), posted at ",
		"the connection was lost after the request was sent", "Dynamo console", "--repost-unknown")

	// Not posted again on its own...
	r = runWith(t, f.env, args...)
	wantCode(t, r, exitFailed)
	wantContains(t, "stdout", r.stdout, "0 accepted, 1 skipped", "1 unknown")
	wantContains(t, "stderr", r.stderr, "an earlier run posted it and did not learn its outcome", "--repost-unknown")
	if n := posts(f.srv); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
	// ...only when told to.
	r = runWith(t, f.env, append(args, "--repost-unknown")...)
	wantCode(t, r, exitOK)
	if n := posts(f.srv); n != 3 {
		t.Errorf("%d posts, want 3", n)
	}
}

// TestBulkNamesNoSDKOption: the tool words its messages from the chunks'
// data and names its own flags, never the SDK's options.
func TestBulkNamesNoSDKOption(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	csv := writeFile(t, "accounts.csv", records(3))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	f.srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropAfterAccept: true}, dynamotest.Fault{Status: 502})
	args := []string{"bulk", "--template", "T", "--csv", csv, "--chunk-size", "1", "--concurrency", "1", "--journal", journal}
	var all strings.Builder
	for _, extra := range [][]string{nil, {"--json"}, nil, {"--json"}} {
		r := runWith(t, f.env, append(extra, args...)...)
		wantCode(t, r, exitFailed)
		all.WriteString(r.stdout + r.stderr)
	}
	out := all.String()
	wantContains(t, "output", out, "--repost-unknown", "502 Bad Gateway")
	for _, name := range []string{"WithRepostUnknown", "WithJournal", "WithStop", "ErrOutcomeUnknown", "PostBulk"} {
		if strings.Contains(out, name) {
			t.Errorf("the output names the SDK's %s:\n%s", name, out)
		}
	}
}

func TestBulkEmbeddedNoWait(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	csv := writeFile(t, "accounts.csv", records(3))
	dap := writeFile(t, "t.dap", "DAP")
	extra := writeFile(t, "extra.json", `[1]`)
	r := runWith(t, env, "bulk", "--dap", dap, "--csv", csv, "--chunk-size", "2", "--no-wait", "--part", "extra="+extra, "--param", "year=2024")
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "chunks: 2 accepted", "not waited for")
	for _, b := range srv.Batches() {
		if b.EmbeddedTemplate == nil || b.EmbeddedTemplate.FileName != "t.dap" {
			t.Errorf("batch %s template %+v", b.ID, b.EmbeddedTemplate)
		}
		for _, task := range b.Tasks {
			if task.Params["year"] != "2024" || task.Params["extra"] == nil {
				t.Errorf("task params %v", task.Params)
			}
		}
	}
}
