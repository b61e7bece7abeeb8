package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"
)

// The targets.
const (
	maxCallRatio   = 1.15 // SDK time per call over the baseline's
	maxAllocRatio  = 1.20 // SDK allocations per call over the baseline's
	maxLargeRatio  = 1.10 // SDK time per large job over the baseline's
	maxMemGrowth   = 1.10 // SDK peak heap per record, largest size over smallest
	passText       = "PASS"
	failText       = "FAIL"
	notMeasuredTxt = "n/a"
)

// verdicts counts the targets met and missed.
type verdicts struct{ pass, fail int }

func (v *verdicts) check(ok bool) string {
	if ok {
		v.pass++
		return passText
	}
	v.fail++
	return failText
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printCalls prints the per-call table.
func printCalls(w io.Writer, cmps []*comparison, v *verdicts) {
	fmt.Fprintf(w, "Per call. Time: wall time, median over rounds; ratio: median of the rounds' SDK/net/http ratios, and their min–max;\n")
	fmt.Fprintf(w, "CPU: median of the rounds' ratios of the process's CPU time. Allocations and KiB: whole process (client,\n")
	fmt.Fprintf(w, "transport, server) per call, medians over rounds.\n\n")
	tw := newTable(w)
	fmt.Fprintf(tw, "call\tnet/http\tSDK\tratio\trounds\tCPU ratio\tallocs net/http\tSDK\tratio\tKiB net/http\tSDK\ttime ≤ %.2f\tallocs ≤ %.2f\n", maxCallRatio, maxAllocRatio)
	for _, c := range cmps {
		st := c.summary()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.2f–%.2f\t%s\t%.0f\t%.0f\t%.3f\t%.1f\t%.1f\t%s\t%s\n",
			c.name, fmtDuration(st.hand), fmtDuration(st.sdk), st.ratio, st.ratioMin, st.ratioMax, fmtRatio(st.cpuRatio),
			st.handAllocs, st.sdkAlloc, st.allocRatio, st.handBytes/1024, st.sdkBytes/1024,
			v.check(st.ratio <= maxCallRatio), v.check(st.allocRatio <= maxAllocRatio))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printLarge prints the large jobs' timing table.
func printLarge(w io.Writer, jobs []*largeComparison, statuses *comparison, v *verdicts) {
	fmt.Fprintf(w, "Large jobs. Time: median over rounds of one job each; ratio: median of the rounds' ratios, and their min–max.\n")
	fmt.Fprintf(w, "CPU: median of the rounds' CPU time ratios. Allocations: whole process per job, medians.\n\n")
	tw := newTable(w)
	fmt.Fprintf(tw, "job\tnet/http\tSDK\tratio\trounds\tCPU ratio\tallocs net/http\tSDK\tratio\ttime ≤ %.2f\n", maxLargeRatio)
	row := func(c *comparison) {
		st := c.summary()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.2f–%.2f\t%s\t%.0f\t%.0f\t%.3f\t%s\n",
			c.name, fmtDuration(st.hand), fmtDuration(st.sdk), st.ratio, st.ratioMin, st.ratioMax, fmtRatio(st.cpuRatio),
			st.handAllocs, st.sdkAlloc, st.allocRatio, v.check(st.ratio <= maxLargeRatio))
	}
	for _, j := range jobs {
		row(j.comparison)
	}
	if statuses != nil {
		row(statuses)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(jobs) > 0 {
		printMemory(w, jobs, v)
	}
}

// printMemory prints the memory of PostBulk at each size, and checks that the
// SDK's grows no faster than the records.
func printMemory(w io.Writer, jobs []*largeComparison, v *verdicts) {
	fmt.Fprintf(w, "Memory of PostBulk: one job each with GOGC=%d, peaks above what was in use before the job (the records).\n\n", memoryGCPercent)
	tw := newTable(w)
	fmt.Fprintf(tw, "records\trecords' heap\tpeak heap net/http\tSDK\tSDK per record\tSDK / records' heap\tpeak RSS net/http\tSDK\n")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0f B\t%.2f\t%s\t%s\n", j.records, fmtBytes(int64(j.recordsBytes)),
			fmtBytes(int64(j.handMem.peakHeap)), fmtBytes(int64(j.sdkMem.peakHeap)),
			perRecord(j), float64(j.sdkMem.peakHeap)/float64(j.recordsBytes),
			fmtBytes(j.handMem.peakRSS), fmtBytes(j.sdkMem.peakRSS))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(jobs) < 2 {
		return
	}
	small, large := jobs[0], jobs[len(jobs)-1]
	growth := perRecord(large) / perRecord(small)
	fmt.Fprintf(w, "%s  SDK peak heap per record at %d records is %.2f× that at %d (target ≤ %.2f: grows no faster than the records)\n\n",
		v.check(growth <= maxMemGrowth), large.records, growth, small.records, maxMemGrowth)
}

func perRecord(j *largeComparison) float64 {
	return float64(j.sdkMem.peakHeap) / float64(j.records)
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) {
		return notMeasuredTxt
	}
	return fmt.Sprintf("%.3f", r)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
}

func fmtBytes(n int64) string {
	switch {
	case n < 0:
		return notMeasuredTxt
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// printSummary prints the count of targets met.
func printSummary(w io.Writer, v *verdicts) {
	fmt.Fprintf(w, "targets: %d %s, %d %s\n", v.pass, passText, v.fail, failText)
}
