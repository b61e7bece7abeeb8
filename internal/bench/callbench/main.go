// Command callbench measures what the SDK adds to each API call, next to a
// hand-written net/http and encoding/json client that makes the same wire
// calls (same headers, same bodies, answers read, checked and decoded, no
// retries).
//
//	go run ./internal/bench/callbench
//
// Both clients talk to one httptest server in this process that answers
// like the API (202 with the documented body for a post, 200 with a status
// body for a GET) from answers encoded in advance, so that it costs the
// same whichever client asks. Each client has its own copy of the same
// transport, with keep-alive. Before measuring, a wire check runs every
// operation once with each client and compares what the server received.
//
// Per-call cases: GetBatchStatus (a 10-task status), GetBatchTaskStatus, GetTask
// (the Task API), PostBatch of 1 and of 1000 tasks, PostTask and
// PostBatchWithTemplate with a 4 KiB template and 10 tasks; each task holds
// a Salesforce-like record ID and a few params. Rounds alternate the order
// of the clients (A B, B A, …); each client makes about -round-time worth
// of calls per round, from a collected heap. The table gives the median
// time per call over rounds, the median and the range of the rounds'
// SDK/net/http ratios, and the allocations and bytes per call of the whole
// process (the server's count the same for both).
//
// Large jobs: PostBulk of -bulk-records records (chunks of 1000, the
// default concurrency of 2) against a loop that posts the same chunks with
// the same concurrency, with the memory each job takes above the records;
// and BatchTaskStatuses over a batch of -statuses-tasks tasks against a loop with
// the same concurrency.
//
// With -cpuprofile or -memprofile, only the SDK side of -profile-case runs
// (the baseline's with -profile-baseline), for -profile-time, and the
// profiles are written for go tool pprof.
//
// The exit code is 0 whatever the targets give, 1 when a call failed or the
// wire check found a difference, and 2 for bad flags.
//
// Targets: the SDK's time per call at most 1.15× the baseline's, its
// allocations at most 1.20×. Figures of four runs of "-run calls" on a
// shared, loaded 2-core machine (medians of 41 or 61 per-round ratios; the
// rounds of one run range from 0.1× to 10× here, so a median moves by
// about ±8% between runs), time ratio and SDK allocations per call (whole
// process; the baseline's in parentheses):
//
//	GetBatchStatus          0.93–1.01   112 (109)
//	GetBatchTaskStatus      0.98–1.08   107 (100)
//	GetTask                 1.00–1.05   108 (101)
//	PostBatch/1             1.07–1.17   137 (118)
//	PostBatch/1000          0.99–1.04   12150 (12144)
//	PostTask                1.08–1.18   141 (119)
//	PostBatchWithTemplate   1.22–1.41   308 (277)
//
// Before the request path dropped its hand-built header values (3 to 4
// allocations a call, well under 1% of its time), the same runs gave 109,
// 104, 105, 133, 137 and 305 allocations and time ratios within the same
// spread. A JSON post still hands the transport a *bytes.Reader, watched
// through a delivery trace instead of wrapped: with a wrapper, net/http
// writes the headers and the body apart, and PostBatch/1 and PostTask
// measured 1.30 and 1.39. PostBatchWithTemplate streams its template
// (net/http then writes the headers first and copies the body through a
// buffer of its own), where the baseline sends a small template from memory:
// the price of never buffering a template of any size, over the target
// since before these figures (1.13–1.19).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	parts          []string // of "calls", "bulk", "statuses"
	cases          []string // per-call cases to run
	rounds         int
	roundTime      time.Duration
	bulkRecords    []int
	bulkRounds     int
	statusesTasks  int
	statusesRounds int
	timeout        time.Duration

	cpuProfile, memProfile string
	profileCase            string
	profileHand            bool // profile the baseline instead of the SDK
	profileTime            time.Duration
}

var allParts = []string{"calls", "bulk", "statuses"}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	var parts, cases, bulk string
	fs := flag.NewFlagSet("callbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&parts, "run", strings.Join(allParts, ","), "what to measure: a comma-separated list of calls, bulk and statuses")
	fs.StringVar(&cases, "cases", strings.Join(callCaseNames, ","), "the per-call cases to run, comma-separated")
	fs.IntVar(&o.rounds, "rounds", 41, "measured rounds of each per-call case; each runs both clients, in alternating order")
	fs.DurationVar(&o.roundTime, "round-time", 50*time.Millisecond, "about how long each client calls in one round")
	fs.StringVar(&bulk, "bulk-records", "10000,100000", "PostBulk job sizes in records, multiples of 1000, comma-separated, smallest first")
	fs.IntVar(&o.bulkRounds, "bulk-rounds", 5, "measured rounds of each PostBulk size")
	fs.IntVar(&o.statusesTasks, "statuses-tasks", 1000, "tasks of the batch BatchTaskStatuses reads")
	fs.IntVar(&o.statusesRounds, "statuses-rounds", 5, "measured rounds of BatchTaskStatuses")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "time limit of the whole benchmark")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "profile the SDK side of -profile-case and write its CPU profile to `file`")
	fs.StringVar(&o.memProfile, "memprofile", "", "profile the SDK side of -profile-case and write its allocation profile to `file`")
	fs.StringVar(&o.profileCase, "profile-case", "", "the case to profile: a per-call case, PostBulk or BatchTaskStatuses")
	fs.BoolVar(&o.profileHand, "profile-baseline", false, "profile the net/http baseline instead of the SDK, to compare")
	fs.DurationVar(&o.profileTime, "profile-time", 5*time.Second, "how long the profiled case runs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "callbench: unexpected arguments: %q\n", fs.Args())
		return 2
	}
	if err := o.parse(parts, cases, bulk); err != nil {
		fmt.Fprintf(stderr, "callbench: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	var err error
	if o.cpuProfile != "" || o.memProfile != "" {
		err = runProfile(ctx, &o, stdout)
	} else {
		err = runBench(ctx, &o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "callbench: %v\n", err)
		return 1
	}
	return 0
}

// parse checks the flags and reads the lists.
func (o *options) parse(parts, cases, bulk string) error {
	o.parts = splitList(parts)
	for _, p := range o.parts {
		if !slices.Contains(allParts, p) {
			return fmt.Errorf("-run: unknown %q (want %s)", p, strings.Join(allParts, ", "))
		}
	}
	o.cases = splitList(cases)
	for _, c := range o.cases {
		if !slices.Contains(callCaseNames, c) {
			return fmt.Errorf("-cases: unknown %q (want %s)", c, strings.Join(callCaseNames, ", "))
		}
	}
	for _, s := range splitList(bulk) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 || n%1000 != 0 {
			return fmt.Errorf("-bulk-records: %q is not a positive multiple of 1000", s)
		}
		o.bulkRecords = append(o.bulkRecords, n)
	}
	switch {
	case !slices.IsSorted(o.bulkRecords):
		return errors.New("-bulk-records: give the sizes smallest first")
	case o.rounds < 1 || o.bulkRounds < 1 || o.statusesRounds < 1:
		return errors.New("-rounds, -bulk-rounds and -statuses-rounds must be at least 1")
	case o.roundTime <= 0 || o.timeout <= 0 || o.profileTime <= 0:
		return errors.New("-round-time, -timeout and -profile-time must be positive")
	case o.statusesTasks < 1:
		return errors.New("-statuses-tasks must be at least 1")
	case (o.cpuProfile != "" || o.memProfile != "") && o.profileCase == "":
		return errors.New("-cpuprofile and -memprofile need -profile-case")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (o *options) runs(part string) bool { return slices.Contains(o.parts, part) }

// clientError names the client and the operation of a failure.
func clientError(sdk bool, op string, err error) error {
	who := "net/http"
	if sdk {
		who = "SDK"
	}
	return fmt.Errorf("%s, %s client: %w", op, who, err)
}

func runBench(ctx context.Context, o *options, w io.Writer) error {
	srv := newAPIServer(o.statusesTasks)
	defer srv.Close()
	c, err := newClients(srv)
	if err != nil {
		return err
	}
	defer c.close()
	fmt.Fprintf(w, "callbench: %s %s/%s, %d CPUs, GOMAXPROCS %d\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	calls := c.selectedCases(o.cases)
	if err := c.wireCheck(ctx, o, calls, w); err != nil {
		return err
	}
	var v verdicts
	if o.runs("calls") {
		var cmps []*comparison
		for _, cs := range calls {
			if cs.tasks > 0 {
				srv.expectTasks(cs.tasks)
			}
			n, err := calibrate(ctx, cs.name, o.roundTime, cs.hand, cs.sdk)
			if err != nil {
				return err
			}
			cmp, err := alternate(ctx, cs.name, o.rounds, n, cs.hand, cs.sdk)
			if err != nil {
				return err
			}
			cmps = append(cmps, cmp)
		}
		fmt.Fprintf(w, "%d rounds of about %v per client and call.\n", o.rounds, o.roundTime)
		printCalls(w, cmps, &v)
	}
	var jobs []*largeComparison
	var statuses *comparison
	if o.runs("bulk") {
		if jobs, err = runBulk(ctx, c, o.bulkRecords, o.bulkRounds); err != nil {
			return err
		}
	}
	if o.runs("statuses") {
		hand, sdk := c.statusJobs(o.statusesTasks)
		if err := hand(ctx); err != nil { // warm up
			return clientError(false, "BatchTaskStatuses", err)
		}
		name := fmt.Sprintf("BatchTaskStatuses/%d", o.statusesTasks)
		if statuses, err = alternate(ctx, name, o.statusesRounds, 1, hand, sdk); err != nil {
			return err
		}
	}
	if len(jobs) > 0 || statuses != nil {
		fmt.Fprintf(w, "%d rounds of PostBulk per size, %d of BatchTaskStatuses.\n", o.bulkRounds, o.statusesRounds)
		printLarge(w, jobs, statuses, &v)
	}
	printSummary(w, &v)
	return nil
}

func (c *clients) selectedCases(names []string) []callCase {
	var out []callCase
	for _, cs := range c.callCases() {
		if slices.Contains(names, cs.name) {
			out = append(out, cs)
		}
	}
	return out
}

// wireCheckRecords is the size of the PostBulk job the wire check compares.
const wireCheckRecords = 2500

// wireCheck compares the requests of the two clients for every operation
// that will be measured.
func (c *clients) wireCheck(ctx context.Context, o *options, calls []callCase, w io.Writer) error {
	var ops []wireOp
	if o.runs("calls") {
		for _, cs := range calls {
			ops = append(ops, wireOp{name: cs.name, tasks: cs.tasks, hand: cs.hand, sdk: cs.sdk})
		}
	}
	if o.runs("bulk") {
		// A job whose last chunk is short, to compare chunking too.
		recs := newRecords(wireCheckRecords)
		hand, sdk := c.bulkJobs(recs)
		ops = append(ops, wireOp{name: "PostBulk", hand: hand, sdk: sdk})
	}
	if o.runs("statuses") {
		hand, sdk := c.statusJobs(o.statusesTasks)
		ops = append(ops, wireOp{name: "BatchTaskStatuses", hand: hand, sdk: sdk})
	}
	problems, err := checkWire(ctx, c.srv, ops)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "wire check: %s, the clients send different requests:\n", failText)
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		return errors.New("the wire check failed: the comparison would not be fair")
	}
	fmt.Fprintf(w, "wire check: %s, both clients send the same requests (%d operations)\n\n", passText, len(ops))
	return nil
}
