package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dynamokit/dynamo/internal/bench/stats"
)

// The targets, from the issue that asked for a streaming bulk post.
const (
	rssBase        = 64 << 20    // bytes: the tool's peak RSS at any size...
	rssPerRecord   = 16          // ...plus this many bytes a record for the check for repeats
	timeRatioMax   = 1.3         // wall and CPU time, tool ÷ loop, from 1M records
	firstPostPerM  = time.Second // from 1M records: below, the start of a process weighs more
	resumeRatioMax = 0.5         // resume ÷ the journaled run, wall time
	fakeRSSMax     = 1 << 30     // bytes: dynamo bulk --fake, up to 1M records
)

// summary is the medians of a trial's samples, and its largest peak RSS.
type summary struct {
	wall, cpu, firstPost float64 // seconds; firstPost -1 when none
	rss                  float64 // bytes
}

func summarize(ss []sample) summary {
	var wall, cpu, first []float64
	var rss int64
	for _, s := range ss {
		wall = append(wall, s.wall.Seconds())
		cpu = append(cpu, s.cpu.Seconds())
		if s.firstPost >= 0 {
			first = append(first, s.firstPost.Seconds())
		}
		rss = max(rss, s.rssKiB)
	}
	sum := summary{wall: stats.Median(wall), cpu: stats.Median(cpu), firstPost: -1, rss: float64(rss) * 1024}
	if len(first) > 0 {
		sum.firstPost = stats.Median(first)
	}
	return sum
}

// growth is the growth of peak RSS per record between the smallest and the
// largest size, in bytes; NaN with one size.
func growth(records []int, rss map[int]float64) float64 {
	lo, hi := records[0], records[0]
	for _, n := range records {
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo == hi {
		return rss[hi] / float64(hi) // all of it, counted as growth
	}
	return (rss[hi] - rss[lo]) / float64(hi-lo)
}

func mib(b float64) float64 { return b / (1 << 20) }

func (b *bench) report(w io.Writer) {
	fmt.Fprintf(w, "bulktoolbench: dynamo bulk --no-wait against a hand-written loop (encoding/csv, net/http, %d-record JSON batches), %d in flight each, API stand-in in its own process; medians of %d rounds (peak RSS: the largest)\n",
		loopBatch, b.o.concurrency, b.o.rounds)
	var verdicts []string
	check := func(ok bool, format string, args ...any) {
		v := "PASS"
		if !ok {
			v = "FAIL"
		}
		verdicts = append(verdicts, v+"  "+fmt.Sprintf(format, args...))
	}
	rssOf := map[string]map[int]float64{}
	for _, n := range b.o.records {
		sums := map[string]summary{}
		trials := trialOrder
		if b.o.fake {
			trials = append(trials[:len(trials):len(trials)], trialFake)
		}
		for _, trial := range trials {
			sums[trial] = summarize(b.samples[n][trial])
			if rssOf[trial] == nil {
				rssOf[trial] = map[int]float64{}
			}
			rssOf[trial][n] = sums[trial].rss
		}
		fmt.Fprintf(w, "\n%d records\n", n)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "trial\twall s\tCPU s\tmax RSS MiB\tfirst post s\t")
		for _, trial := range trials {
			s := sums[trial]
			first := "-"
			if s.firstPost >= 0 {
				first = fmt.Sprintf("%.3f", s.firstPost)
			}
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.1f\t%s\t\n", trial, s.wall, s.cpu, mib(s.rss), first)
		}
		tw.Flush()
		tool, loop, journal, resume, nodups := sums[trialTool], sums[trialLoop], sums[trialJournal], sums[trialResume], sums[trialNoDups]
		fmt.Fprintf(w, "tool ÷ loop: wall %.2f, CPU %.2f, max RSS %.2f; resume ÷ journaled run: wall %.2f; first post %.3f s per million records\n",
			tool.wall/loop.wall, tool.cpu/loop.cpu, tool.rss/loop.rss, resume.wall/journal.wall, tool.firstPost/(float64(n)/1e6))

		bound := float64(rssBase + rssPerRecord*n)
		check(tool.rss <= bound, "%d records: tool max RSS %.1f MiB ≤ 64 MiB + 16 B × records = %.1f MiB", n, mib(tool.rss), mib(bound))
		check(resume.rss <= bound, "%d records: resume max RSS %.1f MiB ≤ %.1f MiB", n, mib(resume.rss), mib(bound))
		check(nodups.rss <= rssBase, "%d records: --allow-duplicates max RSS %.1f MiB ≤ 64 MiB", n, mib(nodups.rss))
		if n >= 1000000 {
			check(tool.wall <= timeRatioMax*loop.wall, "%d records: wall tool ÷ loop %.2f ≤ %.1f", n, tool.wall/loop.wall, timeRatioMax)
			check(tool.cpu <= timeRatioMax*loop.cpu, "%d records: CPU tool ÷ loop %.2f ≤ %.1f", n, tool.cpu/loop.cpu, timeRatioMax)
			limit := firstPostPerM.Seconds() * float64(n) / 1e6
			check(tool.firstPost >= 0 && tool.firstPost <= limit, "%d records: first post after %.3f s ≤ %.3f s (1 s per million records)", n, tool.firstPost, limit)
		}
		if b.o.fake && n <= 1000000 {
			check(sums[trialFake].rss < fakeRSSMax, "%d records: --fake max RSS %.1f MiB < 1 GiB", n, mib(sums[trialFake].rss))
		}
		check(resume.wall <= resumeRatioMax*journal.wall, "%d records: resume ÷ journaled run %.2f ≤ %.1f", n, resume.wall/journal.wall, resumeRatioMax)
	}
	fmt.Fprintf(w, "\ngrowth of max RSS per record")
	if len(b.o.records) == 1 {
		fmt.Fprintf(w, " (one size: the whole RSS over the records)")
	}
	fmt.Fprintf(w, ": tool %.1f B, tool --allow-duplicates %.1f B, loop %.1f B\n",
		growth(b.o.records, rssOf[trialTool]), growth(b.o.records, rssOf[trialNoDups]), growth(b.o.records, rssOf[trialLoop]))
	fmt.Fprintf(w, "the launcher's own peak RSS, below which no child's is measured: %.1f MiB\n\n", float64(b.floorKiB)/1024)
	for _, v := range verdicts {
		fmt.Fprintln(w, v)
	}
}
