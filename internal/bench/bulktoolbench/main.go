// Command bulktoolbench measures what posting a large CSV file with
// `dynamo bulk --no-wait` costs, next to a hand-written loop that reads the
// same file with encoding/csv and posts 1000-record JSON batches with
// net/http, 2 in flight, holding only the batches in flight.
//
//	go run ./internal/bench/bulktoolbench -records 1M,3M -rounds 3
//
// It writes a CSV file per size (id,locale,amount: about 31 bytes a row),
// builds the tool from cmd/dynamo (or takes -tool), and starts an API
// stand-in in a process of its own that accepts JSON batch posts fast (it
// counts a post's tasks and answers with as many task IDs, from answers
// encoded in advance) and records when the first post of each trial
// arrives. Every trial runs as a child of a small launcher process, so
// that its CPU time and peak RSS (the child's rusage) are its own: on Linux
// a child's ru_maxrss is never below the peak RSS of the process that
// forked it, and the launcher's is small.
//
// Each round runs, per size, the tool and the loop at the same concurrency
// (2), in alternating order (A B, then B A, …), then the tool with a
// journal, the same command again (resuming a complete job: nothing left
// to post), and the tool with --allow-duplicates. Every trial must post
// exactly the file's records (the resume none), or the run fails. With
// -fake, a round also runs `dynamo bulk --fake`, whose fake server, in the
// tool's process, keeps every task.
//
// It prints per size the medians over rounds of the wall time, CPU time,
// peak RSS and time to the first post of each, the tool's ratios to the
// loop, the resume's ratio to the journaled run, the growth of the tool's
// peak RSS per record, and a PASS or FAIL line per target. The exit code is
// 0 whatever the targets give, 1 when a trial could not be measured and 2
// for bad flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	records     []int
	rounds      int
	tool        string
	dir         string
	concurrency int
	timeout     time.Duration
	fake        bool

	// Child modes, started by the benchmark itself.
	standin bool
	spawner bool
	loop    bool
	csv     string
	url     string
}

func run(args []string, stdout, stderr io.Writer) int {
	o := options{}
	var records string
	fs := flag.NewFlagSet("bulktoolbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&records, "records", "1M,3M", "the file `sizes` in records, separated by commas (with k or M: 100k, 10M)")
	fs.IntVar(&o.rounds, "rounds", 3, "measured rounds; each runs every trial of every size")
	fs.StringVar(&o.tool, "tool", "", "the dynamo `binary` to measure; built from ./cmd/dynamo when empty")
	fs.StringVar(&o.dir, "dir", "", "the `directory` for the CSV files, journals and the built tool; a temporary one when empty")
	fs.IntVar(&o.concurrency, "concurrency", 2, "posts in flight, for both")
	fs.BoolVar(&o.fake, "fake", false, "also run dynamo bulk --fake, whose fake server in the tool's process keeps every task")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "time limit of each trial")
	fs.BoolVar(&o.standin, "standin", false, "run as the API stand-in (hidden)")
	fs.BoolVar(&o.spawner, "spawner", false, "run as the launcher of trials (hidden)")
	fs.BoolVar(&o.loop, "loop", false, "run the hand-written loop once (hidden)")
	fs.StringVar(&o.csv, "csv", "", "the CSV file, for -loop")
	fs.StringVar(&o.url, "url", "", "the stand-in's base URL, for -loop")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case o.standin:
		return runStandIn(os.Stdin, stdout, stderr)
	case o.spawner:
		return runSpawner(os.Stdin, stdout, stderr)
	case o.loop:
		if err := runLoop(o.url, o.csv, o.concurrency); err != nil {
			fmt.Fprintf(stderr, "bulktoolbench loop: %v\n", err)
			return 1
		}
		return 0
	}
	var err error
	if o.records, err = parseCounts(records); err != nil {
		fmt.Fprintf(stderr, "bulktoolbench: -records: %v\n", err)
		return 2
	}
	switch {
	case o.rounds < 1:
		fmt.Fprintln(stderr, "bulktoolbench: -rounds must be at least 1")
		return 2
	case o.concurrency < 1:
		fmt.Fprintln(stderr, "bulktoolbench: -concurrency must be at least 1")
		return 2
	}
	if err := runBench(&o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bulktoolbench: %v\n", err)
		return 1
	}
	return 0
}

// parseCounts parses "100k,1M,3000" into record counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "M"):
			mult, f = 1000000, strings.TrimSuffix(f, "M")
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
