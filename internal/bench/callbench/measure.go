package main

import (
	"context"
	"runtime"
	"slices"
	"time"

	"github.com/dynamokit/dynamo/internal/bench/stats"
)

// sample is what one run of a client measured, per operation (a call, or a
// whole job).
type sample struct {
	perOp  time.Duration // wall time
	cpu    time.Duration // CPU time of the whole process; negative when unknown
	allocs float64       // heap allocations of the whole process
	bytes  float64       // bytes allocated by the whole process
}

// measureRun makes n operations with op and returns their figures. It
// starts from a collected heap, so that a run does not pay for the garbage
// of the run before it. CPU time and allocations are counted over the whole
// process, the server's included: the server does the same for both
// clients. CPU time is what the process itself used, so it is less
// disturbed than wall time by other programs on a busy machine.
func measureRun(ctx context.Context, op func(context.Context) error, n int) (sample, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, start := cpuTime(), time.Now()
	for range n {
		if err := op(ctx); err != nil {
			return sample{}, err
		}
	}
	elapsed, cpu1 := time.Since(start), cpuTime()
	runtime.ReadMemStats(&after)
	cpu := time.Duration(-1)
	if cpu0 >= 0 && cpu1 >= 0 {
		cpu = (cpu1 - cpu0) / time.Duration(n)
	}
	return sample{
		perOp:  elapsed / time.Duration(n),
		cpu:    cpu,
		allocs: float64(after.Mallocs-before.Mallocs) / float64(n),
		bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
	}, nil
}

// comparison is the samples of both clients over the same rounds.
type comparison struct {
	name      string
	ops       int // operations per run
	hand, sdk []sample
}

// alternate runs rounds of both clients, each making n operations, in
// alternating order (hand then SDK, then SDK then hand, …), so that a drift
// of the machine's speed weighs on both alike.
func alternate(ctx context.Context, name string, rounds, n int, hand, sdk func(context.Context) error) (*comparison, error) {
	c := &comparison{name: name, ops: n}
	for r := range rounds {
		for i := range 2 {
			useSDK := (r+i)%2 == 1
			op := hand
			if useSDK {
				op = sdk
			}
			s, err := measureRun(ctx, op, n)
			if err != nil {
				return nil, clientError(useSDK, name, err)
			}
			if useSDK {
				c.sdk = append(c.sdk, s)
			} else {
				c.hand = append(c.hand, s)
			}
		}
	}
	return c, nil
}

// calibrate warms both clients up (connections, pools, caches) and returns
// how many calls make a run of about roundTime.
func calibrate(ctx context.Context, name string, roundTime time.Duration, hand, sdk func(context.Context) error) (int, error) {
	var per time.Duration
	for i, op := range []func(context.Context) error{hand, sdk} {
		calls, start := 0, time.Now()
		for calls < 3 || time.Since(start) < roundTime/4 {
			if err := op(ctx); err != nil {
				return 0, clientError(i == 1, name, err)
			}
			calls++
		}
		per = max(per, time.Since(start)/time.Duration(calls))
	}
	return max(1, int(roundTime/max(per, 1))), nil
}

// summary summarises a comparison.
type summary struct {
	hand, sdk            time.Duration // median wall time per operation
	ratio                float64       // median of the rounds' SDK/hand ratios
	ratioMin, ratioMax   float64
	cpuRatio             float64 // median of the rounds' CPU time ratios; NaN when unknown
	handAllocs, sdkAlloc float64 // medians
	allocRatio           float64
	handBytes, sdkBytes  float64 // medians
}

func (c *comparison) summary() summary {
	var st summary
	var ratios, cpuRatios, ha, sa, hb, sb []float64
	var ht, stimes []time.Duration
	for i := range c.hand {
		h, s := c.hand[i], c.sdk[i]
		ratios = append(ratios, float64(s.perOp)/float64(h.perOp))
		if h.cpu > 0 && s.cpu >= 0 {
			cpuRatios = append(cpuRatios, float64(s.cpu)/float64(h.cpu))
		}
		ht, stimes = append(ht, h.perOp), append(stimes, s.perOp)
		ha, sa = append(ha, h.allocs), append(sa, s.allocs)
		hb, sb = append(hb, h.bytes), append(sb, s.bytes)
	}
	st.hand, st.sdk = stats.MedianDuration(ht), stats.MedianDuration(stimes)
	st.ratio = stats.Median(ratios)
	st.ratioMin, st.ratioMax = slices.Min(ratios), slices.Max(ratios)
	st.cpuRatio = stats.Median(cpuRatios)
	st.handAllocs, st.sdkAlloc = stats.Median(ha), stats.Median(sa)
	st.allocRatio = st.sdkAlloc / st.handAllocs
	st.handBytes, st.sdkBytes = stats.Median(hb), stats.Median(sb)
	return st
}
