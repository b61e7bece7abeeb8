package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dynamokit/dynamo"
)

// newTestRun is a bulk run of records(n) in chunks of size, posted now, as
// conclude sees it.
func newTestRun(t *testing.T, n, size int, journal string) *bulkRun {
	t.Helper()
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	f := &bulkFlags{journal: journal, chunkSize: size, concurrency: 2, noWait: true}
	src := &csvSource{path: writeFile(t, "accounts.csv", records(n)), chunkSize: size}
	for _, err := range src.Tasks(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
	}
	plan := &bulkPlan{flags: f, batch: &dynamo.Batch{Template: "T"}, src: src}
	r := &bulkRun{a: a, plan: plan, stop: &bulkStop{stop: make(chan struct{})}}
	return r
}

func TestJournalWriteMessage(t *testing.T) {
	t.Parallel()
	r := newTestRun(t, 8, 2, "run.jsonl")
	posted := time.Now()
	jwe := &dynamo.JournalWriteError{Path: "run.jsonl", Err: errors.New("dynamo: journal run.jsonl: writing: no space left on device"),
		Unrecorded: []dynamo.ChunkResult{
			{Index: 0, First: 0, End: 2, State: dynamo.ChunkAccepted, BatchID: "b-0", PostedAt: posted},
			{Index: 1, First: 2, End: 4, State: dynamo.ChunkFailed, PostedAt: posted, Err: errors.New("dynamo: POST /v1/batch: 400 Bad Request")},
			{Index: 2, First: 4, End: 6, State: dynamo.ChunkUnknown, PostedAt: posted,
				Err: &dynamo.APIError{StatusCode: 502, Method: "POST", Path: "/v1/batch", RequestID: "req-7", OutcomeUnknown: true}},
		}}
	res := &dynamo.BulkReport{Chunks: append(append([]dynamo.ChunkResult{}, jwe.Unrecorded...),
		dynamo.ChunkResult{Index: 3, First: 6, End: 8, State: dynamo.ChunkNotStarted, Err: errors.New("not posted")})}
	err := r.conclude(res, jwe)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	wantContains(t, "message", msg,
		"the journal run.jsonl could not be written (journal run.jsonl: writing: no space left on device), so no further chunk was started; 1 chunk was not started",
		"3 chunks posted by this run are not recorded in the journal:",
		"chunk 0 (records [0, 2), IDs "+recordID(0)+" to "+recordID(1)+"): accepted as batch b-0",
		"chunk 1 (records [2, 4), IDs "+recordID(2)+" to "+recordID(3)+"): failed, nothing was created",
		"chunk 2 (records [4, 6), IDs "+recordID(4)+" to "+recordID(5)+"): unknown, posted at ",
		"the API answered 502 Bad Gateway (request ID req-7)",
		"The next run with --journal run.jsonl reads each of them as of unknown outcome and does not post it again",
		"only --repost-unknown posts them again", "--repost-unknown would post their records a second time")
	if strings.Contains(msg, "With") {
		t.Errorf("the message names an SDK option:\n%s", msg)
	}
}

func TestRecordRanges(t *testing.T) {
	t.Parallel()
	chunks := []dynamo.ChunkResult{{First: 0, End: 2}, {First: 2, End: 4}, {First: 6, End: 8}, {First: 8, End: 9}, {First: 12, End: 14}}
	if got, want := recordRanges(chunks), "records [0, 4) and [6, 9) and [12, 14)"; got != want {
		t.Errorf("recordRanges = %q, want %q", got, want)
	}
}

func TestBulkStopMessages(t *testing.T) {
	t.Parallel()
	var lines []string
	aborted := 0
	s := &bulkStop{grace: time.Minute, journaled: true, stop: make(chan struct{}), posting: true,
		abort: func() { aborted++ }, unwait: func() {}, inflight: func() int { return 1 },
		log: func(l string) { lines = append(lines, l) }}
	s.interrupt(os.Interrupt)
	s.interrupt(os.Interrupt)
	s.interrupt(os.Interrupt) // a third changes nothing
	s.postingDone()
	want := []string{
		"interrupt: no new chunk will start; waiting up to 1m0s for 1 post in flight; interrupt again to abort",
		"interrupt again: aborting the 1 post in flight; its chunk is of unknown outcome, and so recorded in the journal",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") || aborted != 1 || s.abortedBy() != "a second interrupt" {
		t.Errorf("lines %q, aborted %d times (%q)", lines, aborted, s.abortedBy())
	}
	select {
	case <-s.stop:
	default:
		t.Error("the stop channel is still open")
	}
}
