package dynamo

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// bulkRun is one run of a bulk post: the second read of the tasks, which
// posts them.
type bulkRun struct {
	client  *Client
	cfg     *bulkConfig
	plan    *bulkPlan
	tasks   bulkTasks
	journal *journal // nil without a journal
	report  BulkReport
	// unrecorded lists the chunks posted by this run whose outcome the
	// journal does not hold, in the order they ended.
	unrecorded []int
}

// posted is the outcome of one chunk's post.
type posted struct {
	ch       bulkChunk // encoded
	postedAt time.Time
	resp     *BatchResponse
	err      error
	// notSent is why the chunk was not sent at all: its posting line could
	// not be written.
	notSent error
}

// run reports the chunks that the journal settles, posts the others, up
// to cfg.concurrency at once, and returns the report and the job's error.
func (r *bulkRun) run(ctx context.Context) (*BulkReport, error) {
	rep := &r.report
	rep.Chunks = make([]ChunkResult, r.plan.chunks)
	for i := range rep.Chunks {
		first, end := r.plan.rangeOf(i)
		rep.Chunks[i] = ChunkResult{Index: i, First: first, End: end}
	}
	settled := r.settleFromJournal()
	var stop error // why no further chunk starts
	fromSource := false
	if settled == nil || slices.Contains(settled, false) {
		stop, fromSource = r.postAll(ctx, settled)
	} // else the journal says what became of every chunk: nothing to read again

	if stop == nil {
		stop = r.stopCause(ctx)
	}
	for i := range rep.Chunks { // those after the stop, and any whose posting line failed
		if rep.Chunks[i].State == ChunkNotStarted && rep.Chunks[i].Err == nil {
			rep.Chunks[i].Err = &notStartedError{cause: stop}
		}
	}
	if r.journal != nil && r.journal.failure != nil {
		return rep, r.journalWriteError(stop)
	}
	if rep.Err() != nil || fromSource {
		return rep, newBulkError(stop, rep)
	}
	return rep, nil
}

// postAll reads the tasks again and posts the chunks that the journal does
// not settle. It holds the chunks in flight and the next one, encoded while
// the others are posted. It returns why it stopped before the end, if it did, and
// whether that came from reading the tasks: then it is the job's error even
// after its last chunk.
func (r *bulkRun) postAll(ctx context.Context, settled []bool) (stop error, fromSource bool) {
	// A chunk's slot is freed only once its outcome is journaled and
	// reported, so that a callback that cancels ctx or closes the stop
	// channel stops the job before another chunk starts.
	results := make(chan posted, r.cfg.concurrency)
	inflight := 0
	wait := func() {
		o := <-results
		inflight--
		if err := r.finish(ctx, o); err != nil && stop == nil {
			stop = err
		}
	}
	index := 0
	for tasks, err := range r.tasks.chunks(ctx, r.plan.size) {
		if stop == nil {
			stop = r.stopCause(ctx)
		}
		if stop != nil {
			break
		}
		if err != nil {
			stop, fromSource = err, true
			break
		}
		i := index
		index++
		if i < len(settled) && settled[i] {
			continue // not even encoded: the journal says what became of it
		}
		ch, err := r.prepare(i, tasks)
		if err != nil {
			stop, fromSource = err, true
			break
		}
		for stop == nil && inflight == r.cfg.concurrency {
			wait()
		}
		if stop == nil {
			stop = r.stopCause(ctx)
		}
		if stop != nil {
			break
		}
		inflight++
		go func() { results <- r.send(ctx, ch) }()
	}
	if stop == nil && index < r.plan.chunks {
		stop, fromSource = r.changed(index, "ended"), true
	}
	for inflight > 0 {
		wait()
	}
	return stop, fromSource
}

// prepare makes chunk i of tasks ready to be posted: when the tasks are read
// again, found the same as the validation read them, then encoded (and
// hashed for the journal).
func (r *bulkRun) prepare(i int, tasks []Task) (bulkChunk, error) {
	if i >= r.plan.chunks {
		return bulkChunk{}, r.changed(i, "gave more tasks")
	}
	ch := r.plan.newChunk(i, tasks)
	if first, end := r.plan.rangeOf(i); ch.end != end {
		return bulkChunk{}, r.changed(i, fmt.Sprintf("gave records [%d, %d) for [%d, %d)", first, ch.end, first, end))
	}
	if r.tasks.rereads() && r.plan.fingerprint.of(tasks) != r.plan.prints[i] {
		return bulkChunk{}, r.changed(i, "gave other tasks")
	}
	if err := ch.encode(r.journal != nil); err != nil { // not expected: planJob checked every value
		return bulkChunk{}, err
	}
	ch.noteIDs()
	return ch, nil
}

// changed is the error of a source whose second read, at chunk i, differs
// from the first.
func (r *bulkRun) changed(i int, what string) error {
	first, _ := r.plan.rangeOf(i)
	return fmt.Errorf("%w: from record %d (chunk %d) on, the second read %s", ErrSourceChanged, first, i, what)
}

// stopCause says why no further chunk may start, or nil.
func (r *bulkRun) stopCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-r.cfg.stop: // a nil channel never receives
		return ErrBulkStopped
	default:
		return nil
	}
}

// send records in the journal that ch is about to be posted, and posts it.
// It runs on a goroutine of its own, one per chunk in flight.
func (r *bulkRun) send(ctx context.Context, ch bulkChunk) posted {
	o := posted{ch: ch}
	o.postedAt = r.client.now().UTC()
	if r.journal != nil {
		rec := r.record(o.ch, journalPosting)
		rec.Time = o.postedAt
		if err := r.journal.appendIntent(ctx, rec); err != nil {
			o.notSent = err
			return o
		}
	}
	if t := r.cfg.template; t != nil {
		o.resp, o.err = r.client.postEmbedded(ctx, *t, o.ch.batch, o.ch.tasks, r.plan.parts)
	} else {
		o.resp, o.err = r.client.postReference(ctx, o.ch.batch, o.ch.tasks)
	}
	return o
}

// record is a journal line about ch, without its state's details.
func (r *bulkRun) record(ch bulkChunk, state string) journalRecord {
	return journalRecord{
		Version:   journalVersion,
		Job:       r.journal.job,
		Chunk:     ch.index,
		First:     ch.first,
		End:       ch.end,
		TasksHash: hex.EncodeToString(ch.hash[:]),
		FirstID:   ch.firstID,
		LastID:    ch.lastID,
		State:     state,
		Time:      r.client.now().UTC(),
	}
}

// settleFromJournal reports the chunks that the journal says not to post,
// and returns which they are, by index.
func (r *bulkRun) settleFromJournal() []bool {
	if r.journal == nil {
		return nil
	}
	settled := make([]bool, r.plan.chunks)
	for i := range r.report.Chunks {
		e, ok := r.journal.latest[i]
		res := &r.report.Chunks[i]
		switch {
		case ok && e.rec.State == journalAccepted:
			res.State = ChunkSkipped
			res.BatchID = e.rec.BatchID
			res.PostedAt = e.postedAt
			if e.rec.TaskIDs != nil {
				res.Err = &BatchTaskCountError{Posted: res.End - res.First, Response: &BatchResponse{ID: e.rec.BatchID, TaskIDs: e.rec.TaskIDs}}
			}
		case ok && e.uncertain() && !r.cfg.repostUnknown:
			res.State = ChunkUnknown
			res.PostedAt = e.postedAt
			res.Err = &journalUnknownError{name: r.journal.name, entry: e}
		default:
			continue
		}
		settled[i] = true
		res.FromJournal = true
		r.done(*res)
	}
	return settled
}

// finish records a chunk's outcome, as the request path's verdict says, in
// the report and the journal, then reports it to the callback with its
// task IDs. The error is the journal's.
func (r *bulkRun) finish(ctx context.Context, o posted) error {
	if o.notSent != nil {
		return o.notSent // the chunk stays not started
	}
	res := ChunkResult{Index: o.ch.index, First: o.ch.first, End: o.ch.end, Err: o.err, PostedAt: o.postedAt}
	var state string
	switch outcomeOf(o.err) {
	case verdictSuccess:
		res.State, state = ChunkAccepted, journalAccepted
		res.BatchID, res.TaskIDs = o.resp.ID, o.resp.TaskIDs
	case verdictUnknown:
		res.State, state = ChunkUnknown, journalUnknown
	default:
		res.State, state = ChunkFailed, journalFailed
	}
	var jerr error
	if r.journal != nil {
		rec := r.record(o.ch, state)
		rec.BatchID, rec.TaskIDs = res.BatchID, res.TaskIDs
		if state != journalAccepted {
			rec.Error = r.errorText(o.err)
		}
		if jerr = r.journal.append(ctx, rec); jerr != nil {
			r.unrecorded = append(r.unrecorded, o.ch.index)
		}
	}
	kept := res
	kept.TaskIDs = nil // the report's size does not grow with the records
	r.report.Chunks[o.ch.index] = kept
	r.done(res)
	return jerr
}

// errorText is err's message for the journal. The SDK's errors never hold a
// credential; removing them again costs little and guards the journal.
func (r *bulkRun) errorText(err error) string {
	if err == nil {
		return ""
	}
	return append(redactor{r.client.apiKey}, r.plan.batch.secrets()...).apply(err.Error())
}

func (r *bulkRun) done(res ChunkResult) {
	if r.cfg.chunkDone != nil {
		r.cfg.chunkDone(res)
	}
}

// journalWriteError lists the chunks whose outcome the journal missed.
func (r *bulkRun) journalWriteError(stop error) error {
	e := &JournalWriteError{Path: r.journal.name, Err: r.journal.failure}
	if r.report.Err() != nil {
		e.chunks = newBulkError(stop, &r.report)
	}
	slices.Sort(r.unrecorded) // finish appends them as the chunks end
	for _, i := range r.unrecorded {
		e.Unrecorded = append(e.Unrecorded, r.report.Chunks[i])
	}
	return e
}
