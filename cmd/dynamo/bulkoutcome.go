package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
)

// conclude prints the job's report and returns how the command ends: every
// problem described, with what to do about it.
func (r *bulkRun) conclude(res *dynamo.BulkReport, postErr error) error {
	if res == nil { // nothing was posted
		return r.setupErr(postErr)
	}
	rep := r.report(res)
	r.a.printBulkReport(rep)
	var msgs []string
	add := func(s string) {
		if s != "" {
			msgs = append(msgs, s)
		}
	}
	add(r.stopMessage(res, postErr))
	add(r.failedMessage(res))
	add(r.unknownMessage(res))
	add(r.countMessage(res))
	add(r.followMessage())
	switch {
	case len(msgs) > 0:
		return errors.New(strings.Join(msgs, "\n"))
	case rep.Tasks.WithErrors > 0:
		return errTaskErrors
	}
	return nil
}

// setupErr words a job that stopped before posting anything.
func (r *bulkRun) setupErr(err error) error {
	if inErr := r.plan.src.inputErr(); inErr != nil {
		return usageErr(inErr)
	}
	switch {
	case errors.Is(err, dynamo.ErrJournalInUse):
		return fmt.Errorf("the journal %s is in use by another run of dynamo bulk (%s): nothing was posted; wait for that run to end, or give a different job a journal of its own", r.plan.flags.journal, journalHolder(err))
	case errors.Is(err, dynamo.ErrJournalMismatch):
		return usageErr(err)
	case errors.Is(err, context.Canceled):
		return errors.New("bulk: interrupted before anything was posted")
	}
	if verr := validationErr("batch", err); verr != err {
		return verr
	}
	return callErr("bulk post", err)
}

// stopMessage says why the job stopped before every chunk was posted, and
// how to post the rest; "" when it did not stop, or when the messages about
// the chunks say it all.
func (r *bulkRun) stopMessage(res *dynamo.BulkReport, postErr error) string {
	var jwe *dynamo.JournalWriteError
	notStarted := chunksIn(res, dynamo.ChunkNotStarted)
	var head string
	switch {
	case errors.As(postErr, &jwe):
		return r.journalWriteMessage(jwe, len(notStarted))
	case r.stop.abortedBy() != "":
		head = fmt.Sprintf("the posts in flight were aborted (%s)", r.stop.abortedBy())
	case r.stop.interrupted():
		head = "stopped by an interrupt: the posts in flight finished"
	case errors.Is(postErr, dynamo.ErrSourceChanged):
		head = fmt.Sprintf("%s changed since it was checked, so no chunk from the first that differs was posted (%s)",
			r.plan.flags.csv, strings.TrimPrefix(postErr.Error(), "dynamo: "))
	case postErr != nil && !errors.Is(postErr, dynamo.ErrBulkStopped):
		head = callErr("bulk post", postErr).Error()
	}
	switch {
	case len(notStarted) > 0:
		if head == "" {
			head = "the job stopped"
		}
		return fmt.Sprintf("%s; %s (%s) %s not started\n%s", head, plural(len(notStarted), "chunk", "chunks"),
			recordRanges(notStarted), wasWere(len(notStarted)), r.rerunHint())
	case r.stop.interrupted() && r.stop.abortedBy() == "":
		return ""
	}
	return head
}

// rerunHint says what running the job again does.
func (r *bulkRun) rerunHint() string {
	if j := r.plan.flags.journal; j != "" {
		return fmt.Sprintf("Run the same command again, with --journal %s: it posts only the chunks not accepted, and none of unknown outcome.", j)
	}
	return "Without --journal nothing remembers what was accepted: running the job again posts every record again."
}

// failedMessage lists the chunks whose post failed.
func (r *bulkRun) failedMessage(res *dynamo.BulkReport) string {
	failed := chunksIn(res, dynamo.ChunkFailed)
	if len(failed) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed, creating nothing:", plural(len(failed), "chunk", "chunks"))
	for _, ch := range failed {
		fmt.Fprintf(&b, "\n  %s: %s", r.chunkName(ch), r.chunkProblem(ch))
	}
	fmt.Fprintf(&b, "\n%s", r.rerunHint())
	return b.String()
}

// unknownMessage says, for every chunk of unknown outcome, what a person
// needs to settle it: its records, when it was posted, where to look, and
// how to post it again once they know its batch was not created.
func (r *bulkRun) unknownMessage(res *dynamo.BulkReport) string {
	unknown := chunksIn(res, dynamo.ChunkUnknown)
	if len(unknown) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of unknown outcome: a batch may have been created for each:", plural(len(unknown), "chunk", "chunks"))
	for _, ch := range unknown {
		fmt.Fprintf(&b, "\n  %s, posted at %s: %s", r.chunkName(ch), postedAt(ch.PostedAt), r.unknownCause(ch))
	}
	b.WriteString("\nThe API cannot list batches: the Dynamo console shows the batches posted, with the time of each.")
	if j := r.plan.flags.journal; j != "" {
		fmt.Fprintf(&b, "\nThe journal %s keeps them from being posted again. Once you know that their batches were not created, run the same command with --repost-unknown to post them again", j)
		if len(unknown) > 1 {
			b.WriteString(" (it posts every chunk of unknown outcome again)")
		}
		b.WriteString(".")
	} else {
		b.WriteString("\nWithout --journal nothing remembers them: running the job again posts every record again, these included.")
	}
	return b.String()
}

// countMessage lists the chunks accepted with an unexpected number of task
// IDs.
func (r *bulkRun) countMessage(res *dynamo.BulkReport) string {
	var odd []dynamo.ChunkResult
	for _, ch := range res.Chunks {
		if (ch.State == dynamo.ChunkAccepted || ch.State == dynamo.ChunkSkipped) && ch.Err != nil {
			odd = append(odd, ch)
		}
	}
	if len(odd) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s accepted with an unexpected number of task IDs; the batches exist, do not post them again:", plural(len(odd), "chunk was", "chunks were"))
	for _, ch := range odd {
		fmt.Fprintf(&b, "\n  %s: %s", r.chunkName(ch), r.chunkProblem(ch))
	}
	return b.String()
}

// followMessage says which batches were not followed to their end.
func (r *bulkRun) followMessage() string {
	if r.follow == nil {
		return ""
	}
	var msgs []string
	if n := r.follow.waitErrors; n > 0 {
		msgs = append(msgs, fmt.Sprintf("%s could not be followed to its end", plural(n, "batch", "batches")))
	}
	if n := r.follow.cutShort; n > 0 {
		msgs = append(msgs, fmt.Sprintf("%s not followed to the end because of the interrupt: they run on in Dynamo; follow each with 'dynamo wait BATCH'",
			plural(n, "batch was", "batches were")))
	}
	return strings.Join(msgs, "\n")
}

// journalWriteMessage says what a journal that could not be written left
// behind: every chunk it does not record, and what the next run does with
// them.
func (r *bulkRun) journalWriteMessage(e *dynamo.JournalWriteError, notStarted int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the journal %s could not be written (%s), so no further chunk was started",
		e.Path, strings.TrimPrefix(e.Err.Error(), "dynamo: "))
	if notStarted > 0 {
		fmt.Fprintf(&b, "; %s not started", plural(notStarted, "chunk was", "chunks were"))
	}
	if len(e.Unrecorded) == 0 {
		b.WriteString("\nEvery chunk posted is recorded. Once the journal can be written again, run the same command to post the rest.")
		return b.String()
	}
	fmt.Fprintf(&b, "\n%s posted by this run %s not recorded in the journal:", plural(len(e.Unrecorded), "chunk", "chunks"), isAre(len(e.Unrecorded)))
	accepted, failed := 0, 0
	for _, ch := range e.Unrecorded {
		fmt.Fprintf(&b, "\n  %s: %s", r.chunkName(ch), ch.State)
		switch {
		case ch.BatchID != "":
			fmt.Fprintf(&b, " as batch %s", ch.BatchID)
			accepted++
		case ch.State == dynamo.ChunkFailed:
			b.WriteString(", nothing was created")
			failed++
		default:
			fmt.Fprintf(&b, ", posted at %s: %s", postedAt(ch.PostedAt), r.unknownCause(ch))
		}
	}
	fmt.Fprintf(&b, "\nThe next run with --journal %s reads each of them as of unknown outcome and does not post it again, so no record is posted twice; it posts the chunks not started.", e.Path)
	if failed > 0 {
		b.WriteString(" The chunks that failed created nothing, but only --repost-unknown posts them again, and it posts every chunk of unknown outcome again.")
	}
	if accepted > 0 {
		b.WriteString(" The batches named above exist: --repost-unknown would post their records a second time.")
	}
	return b.String()
}

// chunkName names a chunk by its records: "chunk 3 (records [3000, 4000),
// IDs a0B…3000 to a0B…3999)".
func (r *bulkRun) chunkName(ch dynamo.ChunkResult) string {
	first, last := r.plan.src.recordIDs(ch.Index)
	return fmt.Sprintf("chunk %d (records [%d, %d), IDs %s to %s)", ch.Index, ch.First, ch.End, first, last)
}

// chunksIn returns the chunks in state s.
func chunksIn(res *dynamo.BulkReport, s dynamo.ChunkState) []dynamo.ChunkResult {
	var out []dynamo.ChunkResult
	for _, ch := range res.Chunks {
		if ch.State == s {
			out = append(out, ch)
		}
	}
	return out
}

// recordRanges names the records of chunks, consecutive ones merged:
// "records [2000, 5000) and [6000, 6500)".
func recordRanges(chunks []dynamo.ChunkResult) string {
	var ranges []string
	for i := 0; i < len(chunks); i++ {
		first, end := chunks[i].First, chunks[i].End
		for i+1 < len(chunks) && chunks[i+1].First == end {
			i++
			end = chunks[i].End
		}
		ranges = append(ranges, fmt.Sprintf("[%d, %d)", first, end))
	}
	return "records " + strings.Join(ranges, " and ")
}

// postedAt is when a chunk was posted, in local time with its offset, as a
// person would compare it with the console's times.
func postedAt(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.Local().Format("2006-01-02 15:04:05 -0700")
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
