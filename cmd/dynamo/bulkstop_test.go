package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The graceful stop of dynamo bulk, in-process: the tests send the signals
// through run's channel. process_test.go sends real ones.

func TestBulkGraceOver(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.holdPosts(2)
	csv := writeFile(t, "accounts.csv", records(10))
	inv := startWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--grace", "1ms", "--no-wait")
	f.awaitAccepted(t, 2) // both in flight, their answers held
	inv.signals <- syscall.SIGTERM
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr,
		"terminated: no new chunk will start; waiting up to 1ms for 2 posts in flight; interrupt again to abort",
		"the grace period of 1ms is over: aborting the 2 posts in flight; their chunks are of unknown outcome\n",
		"the posts in flight were aborted (the grace period is over); 3 chunks (records [4, 10)) were not started",
		"2 chunks of unknown outcome", "the post was aborted after its request was sent",
		"Without --journal nothing remembers them")
	if strings.Contains(r.stderr, "--repost-unknown") {
		t.Errorf("without a journal, --repost-unknown cannot help:\n%s", r.stderr)
	}
}

func TestBulkGraceZero(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.holdPosts(1)
	csv := writeFile(t, "accounts.csv", records(4))
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	inv := startWith(t, f.env, "--json", "bulk", "--template", "T", "--csv", csv, "--chunk-size", "1", "--concurrency", "1",
		"--journal", journal, "--grace", "0", "--no-wait")
	f.awaitAccepted(t, 1)
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "interrupt: no new chunk will start\n",
		"--grace is 0: aborting the 1 post in flight; its chunk is of unknown outcome, and so recorded in the journal",
		"1 chunk of unknown outcome", "--repost-unknown to post them again.")
	var rep bulkJSON
	decodeJSON(t, r, &rep)
	wantCounts(t, rep, map[string]int{"unknown": 1, "not-started": 3})
	if !rep.Interrupted || rep.Aborted != "no grace period" {
		t.Errorf("report: interrupted %v, aborted %q", rep.Interrupted, rep.Aborted)
	}
	if ch := rep.Chunks[1]; ch.Error != "not started: the job was interrupted" || ch.PostedAt != "" {
		t.Errorf("chunk 1: %+v", ch)
	}
}

func TestBulkInterruptWhileFollowing(t *testing.T) {
	t.Parallel()
	f := newFake(t) // batches never complete
	csv := writeFile(t, "accounts.csv", records(4))
	inv := startWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--chunk-size", "2")
	inv.stderr.waitFor(t, "bulk: posting done; waiting for 2 batches")
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "interrupt: no longer waiting for the batches; they run on in Dynamo",
		"2 batches were not followed to the end because of the interrupt", "dynamo wait BATCH")
	wantContains(t, "stdout", r.stdout, "chunks: 2 accepted", "not followed", "(4 in batches not followed)")
	if strings.Contains(r.stderr, "no new chunk") {
		t.Errorf("an interrupt after posting spoke of chunks:\n%s", r.stderr)
	}
}

// TestBulkInterruptBeforeFollowing: a chunk accepted after the interrupt is
// not followed; only its own post was let finish.
func TestBulkInterruptBeforeFollowing(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	release := f.holdPosts(1)
	csv := writeFile(t, "accounts.csv", records(4))
	inv := startWith(t, f.env, "--json", "bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--concurrency", "1")
	f.awaitAccepted(t, 1)
	inv.signals <- os.Interrupt
	inv.stderr.waitFor(t, "waiting up to 30s for 1 post in flight")
	release()
	r := inv.wait(t)
	wantCode(t, r, exitFailed)
	var rep bulkJSON
	decodeJSON(t, r, &rep)
	wantCounts(t, rep, map[string]int{"accepted": 1, "not-started": 1})
	if ch := rep.Chunks[0]; ch.Followed || ch.WaitError != "interrupted" || ch.BatchID == "" {
		t.Errorf("chunk 0: %+v", ch)
	}
	wantContains(t, "stderr", r.stderr, "(not followed: interrupted)", "Without --journal nothing remembers what was accepted")
}
