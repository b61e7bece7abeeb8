package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
)

// bulkRun is one run of dynamo bulk: it posts the chunks, follows their
// batches as they are accepted, and handles the interrupts in between.
type bulkRun struct {
	a       *app
	client  *dynamo.Client
	plan    *bulkPlan
	p       progress
	follow  *follower // nil with --no-wait
	stop    *bulkStop
	postCtx context.Context

	mu       sync.Mutex
	reported int // chunks that PostBulk has reported so far
}

func (a *app) newBulkRun(ctx context.Context, client *dynamo.Client, plan *bulkPlan) *bulkRun {
	// The posts and the waits have contexts of their own: the first
	// interrupt ends the waits at once but lets the posts in flight finish.
	postCtx, abort := context.WithCancel(ctx)
	waitCtx, unwait := context.WithCancel(ctx)
	r := &bulkRun{a: a, client: client, plan: plan, p: a.newProgress("bulk"), postCtx: postCtx}
	if !plan.flags.noWait {
		r.follow = newFollower(waitCtx, a, client, r.p)
	}
	plan.src.counted = r.counted
	r.stop = &bulkStop{
		grace: plan.flags.grace, journaled: plan.flags.journal != "",
		stop: make(chan struct{}), abort: abort, unwait: unwait,
		log: r.p.log, inflight: r.inflight, posting: true,
	}
	return r
}

// close releases the run's contexts.
func (r *bulkRun) close() {
	r.stop.abort()
	r.stop.unwait()
}

// post posts every chunk and waits for the batches being followed; the
// interrupts that arrive meanwhile stop it as bulkStop says.
func (r *bulkRun) post() (*dynamo.BulkReport, error) {
	defer r.a.interrupts.handle(r.stop.interrupt)()
	opts := append(slices.Clip(r.plan.opts), dynamo.WithStop(r.stop.stop), dynamo.WithChunkDone(r.chunkDone))
	rep, err := r.client.PostBulkFrom(r.postCtx, r.plan.batch, r.plan.src, opts...)
	if be, ok := err.(*dynamo.BulkError); ok {
		err = be.Stop // the tool words the chunks' outcomes from the report
	}
	r.stop.postingDone()
	if r.follow != nil {
		if n := r.follow.pending(); n > 0 && !r.stop.interrupted() {
			r.p.log(fmt.Sprintf("bulk: posting done; waiting for %s", plural(n, "batch", "batches")))
		}
		r.follow.wait()
	}
	r.p.finish()
	return rep, err
}

// counted reports the job's size once the validation pass has read every
// record, before the first chunk is posted.
func (r *bulkRun) counted(records int) {
	f := r.plan.flags
	r.p.log(fmt.Sprintf("bulk: %d records from %s in %d chunks of up to %d", records, f.csv, r.plan.chunks(), f.chunkSize))
	if r.follow != nil {
		r.follow.add(records)
	}
}

// chunkDone reports a chunk as PostBulk settles it and, once its batch is
// accepted, starts following the batch.
func (r *bulkRun) chunkDone(ch dynamo.ChunkResult) {
	r.mu.Lock()
	r.reported++
	r.mu.Unlock()
	records := ch.End - ch.First
	accepted := ch.State == dynamo.ChunkAccepted || ch.State == dynamo.ChunkSkipped
	switch {
	case r.follow == nil:
		r.p.log(r.chunkLine(ch))
	case !accepted:
		r.p.log(r.chunkLine(ch))
		r.follow.drop(records)
	case ch.State == dynamo.ChunkSkipped && r.a.inProcessFake():
		// The batch lives in the fake server of the run that posted it.
		const why = "posted by an earlier run to another fake server"
		r.p.log(r.chunkLine(ch) + " (not followed: " + why + ")")
		r.follow.notFollowed(ch.Index, records, why)
	case r.stop.interrupted():
		r.p.log(r.chunkLine(ch) + " (not followed: interrupted)")
		r.follow.interrupted(ch.Index, records)
	default:
		r.p.log(r.chunkLine(ch))
		r.follow.follow(ch.Index, ch.BatchID, records, ch.State == dynamo.ChunkSkipped)
	}
}

// inflight is how many posts are in flight: PostBulk keeps up to
// --concurrency chunks in flight while some are left, and reports every
// chunk it does not post (per the journal) before it posts any.
func (r *bulkRun) inflight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(0, min(r.plan.flags.concurrency, r.plan.chunks()-r.reported))
}

// bulkStop stops a bulk job on interrupts: gracefully on the first (no new
// chunk starts, the posts in flight finish, batches are no longer waited
// for), at once on the second or when the grace period is over (the posts
// in flight are cut off, their outcome unknown).
type bulkStop struct {
	grace     time.Duration
	journaled bool
	stop      chan struct{}      // closed by the first interrupt: PostBulk's WithStop
	abort     context.CancelFunc // cuts off the posts in flight
	unwait    context.CancelFunc // ends the waits for batches
	log       func(string)
	inflight  func() int

	mu      sync.Mutex
	signals int         // interrupts received
	posting bool        // PostBulk has not returned yet
	timer   *time.Timer // the grace period, once started
	aborted string      // why the posts in flight were cut off; "" if they were not
}

func (s *bulkStop) interrupt(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signals++
	switch {
	case !s.posting:
		if s.signals == 1 {
			s.unwait()
			s.log(fmt.Sprintf("%s: no longer waiting for the batches; they run on in Dynamo", sig))
		}
	case s.signals == 1:
		s.stopLocked(sig)
	case s.aborted == "":
		s.abortLocked("a second interrupt", fmt.Sprintf("%s again", sig))
	}
}

// stopLocked starts the graceful stop; s.mu is held.
func (s *bulkStop) stopLocked(sig os.Signal) {
	close(s.stop)
	s.unwait()
	n := s.inflight()
	switch {
	case s.grace == 0:
		s.log(fmt.Sprintf("%s: no new chunk will start", sig))
		s.abortLocked("no grace period", "--grace is 0")
		return
	case n == 0:
		s.log(fmt.Sprintf("%s: no new chunk will start", sig))
	default:
		s.log(fmt.Sprintf("%s: no new chunk will start; waiting up to %s for %s in flight; interrupt again to abort",
			sig, s.grace, plural(n, "post", "posts")))
	}
	s.timer = time.AfterFunc(s.grace, s.graceOver)
}

func (s *bulkStop) graceOver() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.posting && s.aborted == "" {
		s.abortLocked("the grace period is over", fmt.Sprintf("the grace period of %s is over", s.grace))
	}
}

// abortLocked cuts off the posts in flight: why is the reason for the
// report, event the one for the line on stderr. s.mu is held.
func (s *bulkStop) abortLocked(why, event string) {
	s.aborted = why
	s.abort()
	n := s.inflight()
	if n == 0 {
		return
	}
	what := "their chunks are"
	if n == 1 {
		what = "its chunk is"
	}
	msg := fmt.Sprintf("%s: aborting the %s in flight; %s of unknown outcome", event, plural(n, "post", "posts"), what)
	if s.journaled {
		msg += ", and so recorded in the journal"
	}
	s.log(msg)
}

// postingDone notes that PostBulk has returned: from now on an interrupt
// ends the waits, and the grace period no longer matters.
func (s *bulkStop) postingDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posting = false
	if s.timer != nil {
		s.timer.Stop()
	}
}

// interrupted reports whether an interrupt has arrived.
func (s *bulkStop) interrupted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signals > 0
}

// abortedBy says why the posts in flight were cut off, "" if they were not.
func (s *bulkStop) abortedBy() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}

// plural is "1 post" or "2 posts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
