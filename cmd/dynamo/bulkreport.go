package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynamokit/dynamo"
)

// bulkReport is what bulk prints with --json.
type bulkReport struct {
	Records   int    `json:"records"`
	ChunkSize int    `json:"chunkSize"`
	Journal   string `json:"journal,omitempty"`
	// Counts holds how many chunks ended in each state, every state named.
	Counts map[dynamo.ChunkState]int `json:"counts"`
	// Interrupted: an interrupt stopped the job; Aborted says why the posts
	// in flight were then cut off, if they were.
	Interrupted bool          `json:"interrupted"`
	Aborted     string        `json:"aborted,omitempty"`
	Waited      bool          `json:"waited"`
	Tasks       taskTotals    `json:"tasks"`
	Chunks      []chunkReport `json:"chunks"`
}

// chunkReport is one chunk of a bulk job, as reported.
type chunkReport struct {
	Index    int               `json:"index"`
	First    int               `json:"first"`
	End      int               `json:"end"`
	FirstID  string            `json:"firstId"`
	LastID   string            `json:"lastId"`
	State    dynamo.ChunkState `json:"state"`
	BatchID  string            `json:"batchId,omitempty"`
	PostedAt time.Time         `json:"postedAt,omitzero"`
	// Error says, in the tool's words, what went wrong with the chunk.
	Error string `json:"error,omitempty"`
	// Followed: the batch was waited for to its end; Wait holds its last
	// counts.
	Followed bool         `json:"followed"`
	Wait     *batchCounts `json:"wait,omitempty"`
	// WaitError says why the batch was not followed to its end.
	WaitError string `json:"waitError,omitempty"`
}

// chunkStates are the states in the order the summary names them.
var chunkStates = []dynamo.ChunkState{dynamo.ChunkAccepted, dynamo.ChunkSkipped, dynamo.ChunkFailed, dynamo.ChunkUnknown, dynamo.ChunkNotStarted}

// report is the job's report: PostBulk's chunks and what the follower
// learnt of their batches.
func (r *bulkRun) report(res *dynamo.BulkReport) *bulkReport {
	f := r.plan.flags
	rep := &bulkReport{Records: r.plan.src.count(), ChunkSize: f.chunkSize, Journal: f.journal,
		Counts: make(map[dynamo.ChunkState]int), Interrupted: r.stop.interrupted(), Aborted: r.stop.abortedBy(),
		Waited: r.follow != nil, Chunks: make([]chunkReport, len(res.Chunks))}
	for _, s := range chunkStates {
		rep.Counts[s] = res.Count(s)
	}
	if r.follow != nil {
		rep.Tasks = r.follow.totals
	}
	for i, ch := range res.Chunks {
		cr := chunkReport{Index: ch.Index, First: ch.First, End: ch.End, State: ch.State,
			BatchID: ch.BatchID, PostedAt: ch.PostedAt, Error: r.chunkProblem(ch)}
		cr.FirstID, cr.LastID = r.plan.src.recordIDs(ch.Index)
		if r.follow != nil {
			if fw := r.follow.chunks[ch.Index]; fw != nil {
				cr.Followed, cr.Wait, cr.WaitError = fw.wait != nil, fw.wait, fw.err
			}
		}
		rep.Chunks[i] = cr
	}
	return rep
}

// chunkProblem says what went wrong with a chunk, "" when nothing did. It
// is worded from the chunk's state; only a failure, which created nothing,
// is described by the SDK's error.
func (r *bulkRun) chunkProblem(ch dynamo.ChunkResult) string {
	switch {
	case ch.State == dynamo.ChunkUnknown:
		return r.unknownCause(ch)
	case ch.State == dynamo.ChunkNotStarted && r.stop.interrupted():
		return "not started: the job was interrupted"
	case ch.Err == nil:
		return ""
	}
	return strings.TrimPrefix(ch.Err.Error(), "dynamo: ")
}

// unknownCause says why a chunk's outcome is unknown.
func (r *bulkRun) unknownCause(ch dynamo.ChunkResult) string {
	var apiErr *dynamo.APIError
	var trErr *dynamo.TransportError
	switch {
	case ch.FromJournal:
		return "an earlier run posted it and did not learn its outcome"
	case errors.As(ch.Err, &apiErr):
		s := fmt.Sprintf("the API answered %d %s", apiErr.StatusCode, http.StatusText(apiErr.StatusCode))
		if apiErr.Message != "" {
			s += ": " + apiErr.Message
		}
		if apiErr.RequestID != "" {
			s += " (request ID " + apiErr.RequestID + ")"
		}
		return s
	case errors.As(ch.Err, &trErr) && errors.Is(trErr, context.Canceled):
		return "the post was aborted after its request was sent"
	case errors.As(ch.Err, &trErr) && errors.Is(trErr, context.DeadlineExceeded):
		return "no answer came in time after the request was sent"
	case errors.As(ch.Err, &trErr):
		return "the connection was lost after the request was sent"
	}
	return "no answer came back"
}

// chunkLine is the progress line of a chunk as PostBulk settles it.
func (r *bulkRun) chunkLine(ch dynamo.ChunkResult) string {
	s := fmt.Sprintf("chunk %d, records [%d, %d): %s", ch.Index, ch.First, ch.End, ch.State)
	if ch.State == dynamo.ChunkSkipped {
		s += " (accepted by an earlier run)"
	}
	if ch.BatchID != "" {
		s += ", batch " + printable(ch.BatchID)
	}
	if p := r.chunkProblem(ch); p != "" {
		s += ": " + printable(p)
	}
	return s
}

func (a *app) printBulkReport(rep *bulkReport) {
	if a.jsonOut {
		_ = a.printJSON(rep)
		return
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CHUNK\tRECORDS\tSTATE\tBATCH\tCOMPLETED\tERRORS")
	for _, cr := range rep.Chunks {
		batch, done, errs := "-", "-", "-"
		if cr.BatchID != "" {
			batch = printable(cr.BatchID)
		}
		if cr.Wait != nil {
			done = fmt.Sprintf("%d/%d", cr.Wait.TasksCompleted, cr.Wait.Tasks)
			errs = fmt.Sprint(cr.Wait.TasksWithErrors)
		} else if cr.WaitError != "" {
			done = "not followed"
		}
		fmt.Fprintf(w, "%d\t[%d, %d)\t%s\t%s\t%s\t%s\n", cr.Index, cr.First, cr.End, cr.State, batch, done, errs)
	}
	w.Flush()
	fmt.Fprintf(a.stdout, "chunks: %d accepted, %d skipped (accepted by an earlier run), %d failed, %d unknown, %d not started\n",
		rep.Counts[dynamo.ChunkAccepted], rep.Counts[dynamo.ChunkSkipped], rep.Counts[dynamo.ChunkFailed],
		rep.Counts[dynamo.ChunkUnknown], rep.Counts[dynamo.ChunkNotStarted])
	if !rep.Waited {
		fmt.Fprintln(a.stdout, "tasks: not waited for (--no-wait)")
		return
	}
	fmt.Fprintf(a.stdout, "tasks: %d completed, %d with errors, of %d records", rep.Tasks.Completed, rep.Tasks.WithErrors, rep.Records)
	if rep.Tasks.NotFollowed > 0 {
		fmt.Fprintf(a.stdout, " (%d in batches not followed)", rep.Tasks.NotFollowed)
	}
	fmt.Fprintln(a.stdout)
}
