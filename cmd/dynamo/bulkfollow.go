package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dynamokit/dynamo"
)

// bulkWaiters bounds how many batches a bulk job follows at once; the others
// wait their turn (batches tend to complete in the order they were posted).
const bulkWaiters = 8

// follower follows the batches of a bulk job as they are accepted, and adds
// up their progress.
type follower struct {
	ctx    context.Context
	a      *app
	client *dynamo.Client
	p      progress
	sem    chan struct{}
	wg     sync.WaitGroup

	mu         sync.Mutex
	expected   int               // records that may still complete: the progress total
	counts     map[int]counts    // by chunk index, the latest of each batch being followed
	chunks     map[int]*followed // by chunk index, each batch followed or not
	totals     taskTotals
	waitErrors int // batches that could not be followed to their end
	cutShort   int // batches not followed to their end because of an interrupt
}

// followed is what became of the wait for one chunk's batch.
type followed struct {
	wait *batchCounts // the last counts, once the batch completed
	err  string       // why the batch was not followed to its end
}

// taskTotals add up the followed batches.
type taskTotals struct {
	Followed   int `json:"followed"`
	Completed  int `json:"completed"`
	WithErrors int `json:"withErrors"`
	// NotFollowed counts the records of accepted batches that were not
	// followed to their end (see chunkReport.WaitError).
	NotFollowed int `json:"notFollowed"`
}

// batchCounts are a followed batch's task counts.
type batchCounts struct {
	Completed       bool   `json:"completed"`
	Errors          bool   `json:"errors"`
	StatusMessage   string `json:"statusMessage"`
	Tasks           int    `json:"tasks"`
	TasksCompleted  int    `json:"tasksCompleted"`
	TasksWithErrors int    `json:"tasksWithErrors"`
}

func newFollower(ctx context.Context, a *app, client *dynamo.Client, p progress) *follower {
	return &follower{ctx: ctx, a: a, client: client, p: p, sem: make(chan struct{}, bulkWaiters),
		counts: make(map[int]counts), chunks: make(map[int]*followed)}
}

// add adds the job's records to the progress total, once they are counted.
func (w *follower) add(records int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected += records
	w.p.setTotal(w.expected)
}

// wait returns once every batch being followed has completed or could not
// be followed further.
func (w *follower) wait() { w.wg.Wait() }

// pending is how many batches are being followed.
func (w *follower) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.counts)
}

// drop removes records that will never complete from the progress total.
func (w *follower) drop(records int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected -= records
	w.p.setTotal(w.expected)
}

// notFollowed reports an accepted batch that is not waited for, which is no
// failure: its status is out of reach.
func (w *follower) notFollowed(index, records int, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chunks[index] = &followed{err: why}
	w.totals.NotFollowed += records
	w.expected -= records
	w.p.setTotal(w.expected)
}

// interrupted reports an accepted batch that an interrupt keeps from being
// followed.
func (w *follower) interrupted(index, records int) {
	w.notFollowed(index, records, "interrupted")
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cutShort++
}

// follow waits for the chunk's batch in the background. skipped says that
// an earlier run posted it.
func (w *follower) follow(index int, batchID string, records int, skipped bool) {
	w.mu.Lock()
	w.counts[index] = counts{total: records}
	w.updateLocked()
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		select {
		case w.sem <- struct{}{}:
			defer func() { <-w.sem }()
		case <-w.ctx.Done():
			w.waited(index, batchID, records, skipped, nil, w.ctx.Err())
			return
		}
		st, err := w.client.WaitBatch(w.ctx, batchID, w.a.waitBatchOptions(dynamo.WithBatchProgress(func(st *dynamo.BatchStatus) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.counts[index] = countTasks(st)
			w.updateLocked()
		}))...)
		w.waited(index, batchID, records, skipped, st, err)
	}()
}

// waited records the end of a batch's wait.
func (w *follower) waited(index int, batchID string, records int, skipped bool, st *dynamo.BatchStatus, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		delete(w.counts, index)
		w.expected -= records
		w.updateLocked()
		fw := &followed{}
		switch {
		case errors.Is(err, context.Canceled):
			fw.err = "interrupted"
			w.totals.NotFollowed += records
			w.cutShort++
		case errors.Is(err, dynamo.ErrNotFound) && skipped:
			// Recorded by an earlier run: the API keeps a batch's status for
			// 24 hours only.
			fw.err = "the API no longer knows this batch (status is kept 24 hours after posting)"
			w.totals.NotFollowed += records
		default:
			fw.err = callErr("waiting", err).Error()
			w.waitErrors++
		}
		w.chunks[index] = fw
		if fw.err != "interrupted" {
			w.p.log(fmt.Sprintf("chunk %d, batch %s: not followed: %s", index, printable(batchID), printable(fw.err)))
		}
		return
	}
	c := countTasks(st)
	w.counts[index] = c
	w.updateLocked()
	w.chunks[index] = &followed{wait: &batchCounts{Completed: st.Completed, Errors: st.Errors, StatusMessage: st.StatusMessage,
		Tasks: c.total, TasksCompleted: c.completed, TasksWithErrors: c.errors}}
	w.totals.Followed += c.total
	w.totals.Completed += c.completed
	w.totals.WithErrors += c.errors
	if c.errors == 0 && st.Errors {
		w.totals.WithErrors++ // a processing error of the batch itself
	}
}

// updateLocked reports the sum of the followed batches; w.mu is held.
func (w *follower) updateLocked() {
	var sum counts
	for _, c := range w.counts {
		sum.completed += c.completed
		sum.errors += c.errors
	}
	w.p.update(sum.completed, sum.errors, w.expected)
}
