package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
)

// The concurrency of both sides: PostBulk's and BatchTaskStatuses' defaults.
const (
	bulkConcurrency   = 2
	statusConcurrency = 4
)

// bulkJobs returns PostBulk over recs and the baseline's loop doing the
// same posts: chunks of MaxTasksPerBatch records, bulkConcurrency of
// them at once, the same bodies. Each checks that every chunk was accepted.
func (c *clients) bulkJobs(recs *records) (hand, sdk func(context.Context) error) {
	chunks := (len(recs.params) + dynamo.MaxTasksPerBatch - 1) / dynamo.MaxTasksPerBatch
	b := &dynamo.Batch{Template: templateRef, Tasks: recs.sdkTasks(), Integration: dynamo.Salesforce(sessionID, serverURL)}
	handIn := &handIntegration{Type: dynamo.IntegrationSalesforce, SessionID: sessionID, ServerURL: serverURL}
	handTasks := recs.handTasks()
	sdk = func(ctx context.Context) error {
		rep, err := c.sdk.PostBulk(ctx, b, dynamo.WithBulkConcurrency(bulkConcurrency))
		if err != nil {
			return err
		}
		if err := rep.Err(); err != nil {
			return err
		}
		return wantCount(rep.Count(dynamo.ChunkAccepted), chunks)
	}
	hand = func(ctx context.Context) error {
		ids, err := c.hand.postBulk(ctx, templateRef, handTasks, handIn, dynamo.MaxTasksPerBatch, bulkConcurrency)
		if err != nil {
			return err
		}
		return wantCount(len(ids), chunks)
	}
	return hand, sdk
}

// statusJobs returns BatchTaskStatuses over the large batch and the baseline's
// loop doing the same GETs with the same concurrency. Each checks that it
// got every task's status.
func (c *clients) statusJobs(tasks int) (hand, sdk func(context.Context) error) {
	sdk = func(ctx context.Context) error {
		n := 0
		for st, err := range c.sdk.BatchTaskStatuses(ctx, largeBatchID, dynamo.WithStatusConcurrency(statusConcurrency)) {
			if err != nil {
				return err
			}
			if len(st.ResultList) == 1 {
				n++
			}
		}
		return wantCount(n, tasks)
	}
	hand = func(ctx context.Context) error {
		sts, err := c.hand.taskStatuses(ctx, largeBatchID, statusConcurrency)
		if err != nil {
			return err
		}
		n := 0
		for _, st := range sts {
			if len(st.ResultList) == 1 {
				n++
			}
		}
		return wantCount(n, tasks)
	}
	return hand, sdk
}

// recordsHeap builds n records and returns them with the heap they hold
// (their params and both clients' task lists), measured between two
// collections.
func recordsHeap(n int) (*records, uint64) {
	before := liveHeap()
	recs := newRecords(n)
	after := liveHeap()
	return recs, after - before
}

// liveHeap is the heap in use right after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// memSample is the memory one job took beyond what was in use before it.
type memSample struct {
	peakHeap uint64 // bytes of heap objects, largest seen
	peakRSS  int64  // bytes of resident memory, largest; -1 when unknown
}

// memoryGCPercent is the collector's setting while memory is measured: low,
// so that the heap's peak follows what the client holds rather than when
// the collector last ran.
const memoryGCPercent = 10

// measureMemory runs op once while sampling the heap, and returns the peaks
// above the level at its start.
func measureMemory(ctx context.Context, op func(context.Context) error) (memSample, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(memoryGCPercent))
	debug.FreeOSMemory()
	base := heapObjects()
	rss0 := residentBytes()
	resetPeakRSS()

	var peak uint64
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, heapObjects())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := op(ctx)
	close(done)
	wg.Wait()
	peak = max(peak, heapObjects())
	s := memSample{peakHeap: peak - min(peak, base), peakRSS: -1}
	if hwm := peakRSSBytes(); hwm >= 0 && rss0 >= 0 {
		s.peakRSS = max(hwm-rss0, 0)
	}
	return s, err
}

var heapObjectsSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// heapObjects is the heap's objects now, live or not yet collected. It is
// read without stopping the world, so a sampler can afford it often.
func heapObjects() uint64 {
	metrics.Read(heapObjectsSample)
	return heapObjectsSample[0].Value.Uint64()
}

// largeComparison is a job run by both clients: its timing rounds, and a
// memory trial of each.
type largeComparison struct {
	*comparison
	records      int
	recordsBytes uint64
	handMem      memSample
	sdkMem       memSample
}

// runLarge times hand and sdk over rounds, then measures the memory of one
// job of each.
func runLarge(ctx context.Context, name string, rounds int, hand, sdk func(context.Context) error) (*largeComparison, error) {
	// One unmeasured job each: connections, pools, code paths.
	if err := hand(ctx); err != nil {
		return nil, clientError(false, name, err)
	}
	if err := sdk(ctx); err != nil {
		return nil, clientError(true, name, err)
	}
	cmp, err := alternate(ctx, name, rounds, 1, hand, sdk)
	if err != nil {
		return nil, err
	}
	lc := &largeComparison{comparison: cmp}
	if lc.handMem, err = measureMemory(ctx, hand); err != nil {
		return nil, clientError(false, name, err)
	}
	if lc.sdkMem, err = measureMemory(ctx, sdk); err != nil {
		return nil, clientError(true, name, err)
	}
	return lc, nil
}

// runBulk compares PostBulk with the baseline at each size in sizes.
func runBulk(ctx context.Context, c *clients, sizes []int, rounds int) ([]*largeComparison, error) {
	c.srv.expectTasks(dynamo.MaxTasksPerBatch)
	var out []*largeComparison
	for _, n := range sizes {
		if n%dynamo.MaxTasksPerBatch != 0 {
			return nil, fmt.Errorf("bulk size %d is not a multiple of %d", n, dynamo.MaxTasksPerBatch)
		}
		recs, size := recordsHeap(n)
		hand, sdk := c.bulkJobs(recs)
		lc, err := runLarge(ctx, fmt.Sprintf("PostBulk/%d", n), rounds, hand, sdk)
		if err != nil {
			return nil, err
		}
		lc.records, lc.recordsBytes = n, size
		out = append(out, lc)
		runtime.KeepAlive(recs)
	}
	return out, nil
}
