package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets.
const (
	maxSDKRSSKiB    = 16 << 10 // peak RSS of the SDK client
	maxWallRatio    = 1.10     // SDK wall time over the baseline's
	maxCPURatio     = 1.20     // SDK CPU time over the baseline's
	maxSDKFirstByte = 100 * time.Millisecond
	maxRSSGrowthKiB = 2 << 10 // peak RSS difference between the two sizes
)

const (
	clientNameA  = "A net/http"
	clientNameB  = "B SDK"
	notAvailable = "n/a"
)

// summary is the figures of a set of trials of one client and size.
type summary struct {
	trials    []*trial
	wall, cpu time.Duration // medians
	firstByte time.Duration // median
	maxRSS    int64         // KiB, largest; -1 when unknown
	ownHWM    int64         // KiB, largest; -1 when unknown
	bodyBytes int64         // body length (the same in every trial)
	bodyOK    int           // trials whose body the sink found right
}

func summarize(ts []*trial) summary {
	s := summary{trials: ts, maxRSS: -1, ownHWM: -1}
	var walls, cpus, fbs []time.Duration
	for _, t := range ts {
		walls = append(walls, t.wall)
		cpus = append(cpus, t.cpu)
		fbs = append(fbs, t.firstByte)
		s.maxRSS = max(s.maxRSS, t.maxRSS)
		s.ownHWM = max(s.ownHWM, t.ownHWM)
		s.bodyBytes = max(s.bodyBytes, t.rec.Bytes)
		if len(t.problems) == 0 {
			s.bodyOK++
		}
	}
	s.wall, s.cpu, s.firstByte = median(walls), median(cpus), median(fbs)
	return s
}

// throughput is the body's MiB per second at the median wall time.
func (s summary) throughput() float64 {
	if s.wall <= 0 {
		return 0
	}
	return float64(s.bodyBytes) / (1 << 20) / s.wall.Seconds()
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func medianFloat(fs []float64) float64 {
	if len(fs) == 0 {
		return math.NaN()
	}
	fs = slices.Clone(fs)
	slices.Sort(fs)
	n := len(fs)
	if n%2 == 1 {
		return fs[n/2]
	}
	return (fs[n/2-1] + fs[n/2]) / 2
}

// pick returns the measured trials of mode with template tf.
func (b *bench) pick(mode string, tf *templateFile) []*trial {
	var ts []*trial
	for _, t := range b.trials {
		if !t.warmup && t.mode == mode && t.file == tf {
			ts = append(ts, t)
		}
	}
	return ts
}

// pairedRatios returns, for each round in which both clients ran with tf,
// B's figure over A's.
func (b *bench) pairedRatios(tf *templateFile, figure func(*trial) time.Duration) []float64 {
	byRound := map[int][2]*trial{}
	for _, t := range b.trials {
		if t.warmup || t.file != tf {
			continue
		}
		p := byRound[t.round]
		if t.mode == "A" {
			p[0] = t
		} else {
			p[1] = t
		}
		byRound[t.round] = p
	}
	var rs []float64
	for _, p := range byRound {
		if p[0] != nil && p[1] != nil && figure(p[0]) > 0 {
			rs = append(rs, float64(figure(p[1]))/float64(figure(p[0])))
		}
	}
	return rs
}

func (b *bench) report(tmpl, compare *templateFile) {
	a, sdk := summarize(b.pick("A", tmpl)), summarize(b.pick("B", tmpl))
	rows := []struct {
		name string
		s    summary
	}{
		{clientNameA + " " + formatSize(tmpl.size), a},
		{clientNameB + " " + formatSize(tmpl.size), sdk},
	}
	var cmp summary
	if compare != nil {
		cmp = summarize(b.pick("B", compare))
		rows = append(rows, struct {
			name string
			s    summary
		}{clientNameB + " " + formatSize(compare.size), cmp})
	}

	fmt.Fprintln(b.out)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\ttrials\twall (median)\tCPU (median)\tpeak RSS (max)\town VmHWM (max)\tfirst byte (median)\tthroughput\t")
	for _, r := range rows {
		if len(r.s.trials) == 0 {
			fmt.Fprintf(tw, "%s\t0\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, notAvailable, notAvailable, notAvailable, notAvailable, notAvailable, notAvailable)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.1f MiB/s\t\n", r.name, len(r.s.trials),
			formatDur(r.s.wall), formatDur(r.s.cpu), formatKiB(r.s.maxRSS), formatKiB(r.s.ownHWM),
			formatDur(r.s.firstByte), r.s.throughput())
	}
	tw.Flush()
	fmt.Fprintf(b.out, "peak RSS is the client process's ru_maxrss; own VmHWM is its /proc/self/status high-water mark after the call.\n"+
		"The clients' launcher peaked at %s, a floor for ru_maxrss (Linux carries it across vfork+exec).\n", formatKiB(b.spawn.hwm))

	haveBoth := len(a.trials) > 0 && len(sdk.trials) > 0
	wallRatio, cpuRatio := math.NaN(), math.NaN()
	if haveBoth && a.wall > 0 && a.cpu > 0 {
		wallRatio = float64(sdk.wall) / float64(a.wall)
		cpuRatio = float64(sdk.cpu) / float64(a.cpu)
	}
	fmt.Fprintf(b.out, "\nB/A (ratio of medians): wall %s, CPU %s", formatRatio(wallRatio), formatRatio(cpuRatio))
	fmt.Fprintf(b.out, "   (median of per-round ratios: wall %s, CPU %s)\n",
		formatRatio(medianFloat(b.pairedRatios(tmpl, func(t *trial) time.Duration { return t.wall }))),
		formatRatio(medianFloat(b.pairedRatios(tmpl, func(t *trial) time.Duration { return t.cpu }))))
	fmt.Fprintf(b.out, "body: %d bytes at %s", sdk.bodyBytes, formatSize(tmpl.size))
	if compare != nil {
		fmt.Fprintf(b.out, ", %d bytes at %s", cmp.bodyBytes, formatSize(compare.size))
	}
	fmt.Fprintln(b.out)

	fmt.Fprintln(b.out, "\nsink verification (Content-Length declared, not chunked, equal to the bytes read; template size and CRC-32 match):")
	allOK := true
	for _, r := range rows {
		ok := len(r.s.trials) > 0 && r.s.bodyOK == len(r.s.trials)
		allOK = allOK && ok
		detail := ""
		if len(r.s.trials) > 0 {
			t := r.s.trials[0]
			detail = fmt.Sprintf("  e.g. Content-Length %d, read %d, chunked %t", t.rec.ContentLength, t.rec.Bytes, t.rec.Chunked)
		}
		fmt.Fprintf(b.out, "  %-4s %-20s %d/%d trials right%s\n", verdict(ok), r.name, r.s.bodyOK, len(r.s.trials), detail)
	}

	fmt.Fprintln(b.out, "\ntargets:")
	line := func(ok bool, format string, args ...any) {
		fmt.Fprintf(b.out, "%s  %s\n", verdict(ok), fmt.Sprintf(format, args...))
	}
	line(len(sdk.trials) > 0 && sdk.maxRSS >= 0 && sdk.maxRSS <= maxSDKRSSKiB,
		"SDK peak RSS at %s <= %s: %s (ru_maxrss of the client process), own VmHWM %s",
		formatSize(tmpl.size), formatKiB(maxSDKRSSKiB), formatKiB(sdk.maxRSS), formatKiB(sdk.ownHWM))
	line(wallRatio <= maxWallRatio, "wall time B/A <= %.2f: %s", maxWallRatio, formatRatio(wallRatio))
	line(cpuRatio <= maxCPURatio, "CPU time B/A <= %.2f: %s", maxCPURatio, formatRatio(cpuRatio))
	fb := notAvailable
	if len(sdk.trials) > 0 {
		fb = formatDur(sdk.firstByte)
	}
	line(len(sdk.trials) > 0 && sdk.firstByte <= maxSDKFirstByte,
		"SDK first byte <= %s: %s", formatDur(maxSDKFirstByte), fb)
	if compare != nil {
		ok := len(sdk.trials) > 0 && len(cmp.trials) > 0 && sdk.maxRSS >= 0 && cmp.maxRSS >= 0
		diff := int64(math.MaxInt64)
		if ok {
			diff = sdk.maxRSS - cmp.maxRSS
			if diff < 0 {
				diff = -diff
			}
		}
		line(ok && diff <= maxRSSGrowthKiB,
			"SDK peak RSS at %s within %s of %s: %s vs %s, difference %s",
			formatSize(tmpl.size), formatKiB(maxRSSGrowthKiB), formatSize(compare.size),
			formatKiB(sdk.maxRSS), formatKiB(cmp.maxRSS), formatKiB(diff))
	}
	line(allOK, "sink: every body right")
	if b.failed > 0 {
		fmt.Fprintf(b.out, "FAIL  %d trial(s) could not be measured\n", b.failed)
	}
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// formatDur writes d with a unit and precision that suit its size.
func formatDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

func formatRatio(r float64) string {
	if math.IsNaN(r) {
		return notAvailable
	}
	return fmt.Sprintf("%.3f", r)
}

// formatKiB writes a size in KiB as MiB.
func formatKiB(k int64) string {
	if k < 0 || k == math.MaxInt64 {
		return notAvailable
	}
	return strings.TrimSpace(fmt.Sprintf("%.1f MiB", float64(k)/1024))
}
