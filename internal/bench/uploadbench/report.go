package main

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynamokit/dynamo/internal/bench/stats"
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
	sinkCPU   time.Duration // median; -1 when unknown
	firstByte time.Duration // median
	maxRSS    int64         // KiB, largest; -1 when unknown
	ownHWM    int64         // KiB, largest; -1 when unknown
	bodyBytes int64         // body length (the same in every trial)
	bodyOK    int           // trials whose request the sink found right
}

func summarize(ts []*trial) summary {
	s := summary{trials: ts, maxRSS: -1, ownHWM: -1, sinkCPU: -1}
	var walls, cpus, sinkCPUs, fbs []time.Duration
	for _, t := range ts {
		walls = append(walls, t.wall)
		cpus = append(cpus, t.cpu)
		if t.rec.CPU >= 0 {
			sinkCPUs = append(sinkCPUs, time.Duration(t.rec.CPU))
		}
		fbs = append(fbs, t.firstByte)
		s.maxRSS = max(s.maxRSS, t.maxRSS)
		s.ownHWM = max(s.ownHWM, t.ownHWM)
		s.bodyBytes = max(s.bodyBytes, t.rec.Bytes)
		if len(t.problems) == 0 {
			s.bodyOK++
		}
	}
	s.wall, s.cpu, s.firstByte = stats.MedianDuration(walls), stats.MedianDuration(cpus), stats.MedianDuration(fbs)
	if len(sinkCPUs) == len(ts) && len(ts) > 0 {
		s.sinkCPU = stats.MedianDuration(sinkCPUs)
	}
	return s
}

// throughput is the body's MiB per second at the median wall time.
func (s summary) throughput() float64 {
	if s.wall <= 0 {
		return 0
	}
	return float64(s.bodyBytes) / (1 << 20) / s.wall.Seconds()
}

// series names the trials of one client on one variant with one template.
type series struct {
	v    variant
	mode string
	tf   *templateFile
}

func (s series) name() string {
	n := clientNameA
	if s.mode == "B" {
		n = clientNameB
	}
	return n + " " + formatSize(s.tf.size)
}

func (s series) has(t *trial) bool {
	return !t.warmup && t.v == s.v && t.mode == s.mode && t.file == s.tf
}

// pick returns the measured trials of s.
func (b *bench) pick(s series) []*trial {
	var ts []*trial
	for _, t := range b.trials {
		if s.has(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// perRound returns, for each round in which both num and den ran, num's
// figure over den's. Trials of one round ran next to each other, so these
// ratios are less exposed to a machine whose speed drifts than a ratio of
// medians.
func (b *bench) perRound(num, den series, figure func(*trial) time.Duration) []float64 {
	type pair struct{ num, den *trial }
	byRound := map[int]pair{}
	for _, t := range b.trials {
		p := byRound[t.round]
		switch {
		case num.has(t):
			p.num = t
		case den.has(t):
			p.den = t
		default:
			continue
		}
		byRound[t.round] = p
	}
	var rs []float64
	for _, p := range byRound {
		if p.num != nil && p.den != nil && figure(p.den) > 0 && figure(p.num) >= 0 {
			rs = append(rs, float64(figure(p.num))/float64(figure(p.den)))
		}
	}
	return rs
}

func wallOf(t *trial) time.Duration    { return t.wall }
func cpuOf(t *trial) time.Duration     { return t.cpu }
func sinkCPUOf(t *trial) time.Duration { return time.Duration(t.rec.CPU) }

// ratio is a/b, or NaN when either is unknown.
func ratio(a, b time.Duration) float64 {
	if a <= 0 || b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func (b *bench) report(tmpl, compare *templateFile) {
	type row struct {
		series
		s summary
	}
	var rows []row
	sums := map[series]summary{}
	add := func(se series) {
		s := summarize(b.pick(se))
		rows = append(rows, row{se, s})
		sums[se] = s
	}
	variants := b.o.variants()
	for _, v := range variants {
		add(series{v, "A", tmpl})
		add(series{v, "B", tmpl})
	}
	if compare != nil {
		for _, p := range b.o.protos {
			add(series{variant{proto: p}, "B", compare})
		}
	}
	baselineOf := func(v variant) series { return series{variant{proto: v.proto}, "A", tmpl} }

	fmt.Fprintln(b.out)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\tvia\ttrials\twall (median)\tCPU (median)\tsink CPU (median)\tpeak RSS (max)\town VmHWM (max)\tfirst byte (median)\tthroughput\twall ÷ A\tCPU ÷ A\tsink CPU ÷ A\t")
	for _, r := range rows {
		if len(r.s.trials) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t0%s\n", r.name(), r.v, strings.Repeat("\t"+notAvailable, 11)+"\t")
			continue
		}
		// Each row against the untuned baseline of its protocol, in the
		// same run: the SDK's cost, or a setting's effect.
		rel := []string{notAvailable, notAvailable, notAvailable}
		if r.tf == tmpl && r.series != baselineOf(r.v) {
			for i, figure := range []func(*trial) time.Duration{wallOf, cpuOf, sinkCPUOf} {
				rel[i] = formatRatio(stats.Median(b.perRound(r.series, baselineOf(r.v), figure)))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f MiB/s\t%s\t\n", r.name(), r.v, len(r.s.trials),
			formatDur(r.s.wall), formatDur(r.s.cpu), formatDurOrNA(r.s.sinkCPU), formatKiB(r.s.maxRSS), formatKiB(r.s.ownHWM),
			formatDur(r.s.firstByte), r.s.throughput(), strings.Join(rel, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(b.out, "peak RSS is the client process's ru_maxrss; own VmHWM is its /proc/self/status high-water mark after the call.\n"+
		"The clients' launcher peaked at %s, a floor for ru_maxrss (Linux carries it across vfork+exec).\n"+
		"sink CPU is the sink process's CPU time while it read the body. The ÷ A columns are medians of per-round\n"+
		"ratios to the untuned net/http baseline on the same protocol; CPU times suffer less than wall times\n"+
		"from other load on the machine.\n", formatKiB(b.spawn.hwm))

	fmt.Fprintln(b.out)
	for _, v := range variants {
		a, sdk := series{v, "A", tmpl}, series{v, "B", tmpl}
		sa, sb := sums[a], sums[sdk]
		fmt.Fprintf(b.out, "%-6s B/A (ratio of medians): wall %s, CPU %s   (median of per-round ratios: wall %s, CPU %s)\n", v,
			formatRatio(ratio(sb.wall, sa.wall)), formatRatio(ratio(sb.cpu, sa.cpu)),
			formatRatio(stats.Median(b.perRound(sdk, a, wallOf))), formatRatio(stats.Median(b.perRound(sdk, a, cpuOf))))
	}
	if len(b.o.protos) > 1 {
		first := series{variant{proto: b.o.protos[0]}, "A", tmpl}
		var rel []string
		for _, p := range b.o.protos[1:] {
			// Throughput is inverse to wall time for the same body.
			r := stats.Median(b.perRound(first, series{variant{proto: p}, "A", tmpl}, wallOf))
			rel = append(rel, fmt.Sprintf("%s %s", p, formatRatio(r)))
		}
		fmt.Fprintf(b.out, "net/http throughput relative to %s (median of per-round ratios): %s\n", first.v, strings.Join(rel, ", "))
	}
	fmt.Fprintf(b.out, "body: %d bytes at %s", sums[series{variants[0], "B", tmpl}].bodyBytes, formatSize(tmpl.size))
	if compare != nil {
		fmt.Fprintf(b.out, ", %d bytes at %s", sums[series{variants[0], "B", compare}].bodyBytes, formatSize(compare.size))
	}
	fmt.Fprintln(b.out)

	fmt.Fprintln(b.out, "\nsink verification (protocol as asked; Content-Length declared, not chunked, equal to the bytes read; template size and CRC-32 match):")
	allOK := true
	for _, r := range rows {
		ok := len(r.s.trials) > 0 && r.s.bodyOK == len(r.s.trials)
		allOK = allOK && ok
		detail := ""
		if len(r.s.trials) > 0 {
			rec := r.s.trials[0].rec
			via := rec.Proto
			if rec.TLS != "" {
				via += " over " + rec.TLS
			}
			detail = fmt.Sprintf("  e.g. %s, Content-Length %d, read %d, chunked %t", via, rec.ContentLength, rec.Bytes, rec.Chunked)
		}
		fmt.Fprintf(b.out, "  %-4s %-6s %-20s %d/%d trials right%s\n", verdict(ok), r.v, r.name(), r.s.bodyOK, len(r.s.trials), detail)
	}

	fmt.Fprintln(b.out, "\ntargets:")
	line := func(ok bool, format string, args ...any) {
		fmt.Fprintf(b.out, "%s  %s\n", verdict(ok), fmt.Sprintf(format, args...))
	}
	for _, p := range b.o.protos {
		v := variant{proto: p}
		a, sdk := sums[series{v, "A", tmpl}], sums[series{v, "B", tmpl}]
		wallRatio, cpuRatio := ratio(sdk.wall, a.wall), ratio(sdk.cpu, a.cpu)
		line(len(sdk.trials) > 0 && sdk.maxRSS >= 0 && sdk.maxRSS <= maxSDKRSSKiB,
			"%s: SDK peak RSS at %s <= %s: %s (ru_maxrss of the client process), own VmHWM %s",
			p, formatSize(tmpl.size), formatKiB(maxSDKRSSKiB), formatKiB(sdk.maxRSS), formatKiB(sdk.ownHWM))
		line(wallRatio <= maxWallRatio, "%s: wall time B/A <= %.2f: %s", p, maxWallRatio, formatRatio(wallRatio))
		line(cpuRatio <= maxCPURatio, "%s: CPU time B/A <= %.2f: %s", p, maxCPURatio, formatRatio(cpuRatio))
		fb := notAvailable
		if len(sdk.trials) > 0 {
			fb = formatDur(sdk.firstByte)
		}
		line(len(sdk.trials) > 0 && sdk.firstByte <= maxSDKFirstByte,
			"%s: SDK first byte <= %s: %s", p, formatDur(maxSDKFirstByte), fb)
		if compare != nil {
			cmp := sums[series{v, "B", compare}]
			ok := len(sdk.trials) > 0 && len(cmp.trials) > 0 && sdk.maxRSS >= 0 && cmp.maxRSS >= 0
			diff := int64(math.MaxInt64)
			if ok {
				diff = sdk.maxRSS - cmp.maxRSS
				if diff < 0 {
					diff = -diff
				}
			}
			line(ok && diff <= maxRSSGrowthKiB,
				"%s: SDK peak RSS at %s within %s of %s: %s vs %s, difference %s",
				p, formatSize(tmpl.size), formatKiB(maxRSSGrowthKiB), formatSize(compare.size),
				formatKiB(sdk.maxRSS), formatKiB(cmp.maxRSS), formatKiB(diff))
		}
	}
	line(allOK, "sink: every request right")
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

// formatDurOrNA is formatDur, or n/a for a negative (unknown) d.
func formatDurOrNA(d time.Duration) string {
	if d < 0 {
		return notAvailable
	}
	return formatDur(d)
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

// processCPU is the CPU time this process has used, or -1.
func processCPU() time.Duration { return stats.ProcessCPU() }

// ownPeakRSS is this process's peak resident set size in KiB (VmHWM), or
// -1. Unlike a child's ru_maxrss it counts only pages of this program's own
// image.
func ownPeakRSS() int64 { return stats.StatusKiB("VmHWM:") }
