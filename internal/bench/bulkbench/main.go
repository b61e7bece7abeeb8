// Command bulkbench compares, at one job size, the time and memory of a bulk
// post four ways, against an API stand-in in a process of its own:
//
//   - loop: a hand-written streaming loop (records made as they are read,
//     1000-record JSON batches encoded with encoding/json and posted with
//     net/http, as many in flight as PostBulk's default), the baseline;
//   - slice: PostBulk over a slice holding every record;
//   - from: PostBulkFrom over a source that makes the records as they are
//     read, holding none;
//   - resume: PostBulkFrom with a journal, run again once the job is
//     complete (the figures are the second run's).
//
// Each trial runs in a fresh child process, so that one trial's heap does
// not count in another's memory. A trial's memory is its peak resident set
// above the resident set of the process before the job started (for slice,
// after its records were built: those are the program's own). The rounds
// alternate the cases, and the figures are medians.
//
//	go run ./internal/bench/bulkbench -records 1000000 -rounds 3
//	go run ./internal/bench/bulkbench -records 10000000 -rounds 1 -cases loop,from
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/internal/bench/stats"
)

// concurrency is how many posts the loop keeps in flight: PostBulk's
// default.
const concurrency = 2

const (
	tenantID = "00D5g000004QdDeEAK"
	apiKey   = "bench-api-key-0123456789abcdef"
	template = "0691x000002AbCdQAK"
)

var allCases = []string{"loop", "slice", "from", "resume"}

// result is what a trial child prints.
type result struct {
	Wall, CPU time.Duration
	Before    int64 // RSS before the job, bytes
	Peak      int64 // peak RSS during the job, bytes
}

func main() {
	records := flag.Int("records", 1_000_000, "records in the job")
	rounds := flag.Int("rounds", 3, "trials of each case")
	only := flag.String("cases", strings.Join(allCases, ","), "the cases to run, comma-separated; loop is the baseline of the ratios")
	serve := flag.Bool("serve", false, "run as the API stand-in (internal)")
	trial := flag.String("trial", "", "run one trial of this case against -url (internal)")
	url := flag.String("url", "", "the API stand-in's URL (internal)")
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = runServer()
	case *trial != "":
		err = runTrial(*trial, *url, *records)
	default:
		err = compare(*records, *rounds, strings.Split(*only, ","))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bulkbench:", err)
		os.Exit(1)
	}
}

// compare runs the rounds and prints the medians and ratios.
func compare(records, rounds int, cases []string) error {
	for _, c := range cases {
		if !slices.Contains(allCases, c) {
			return fmt.Errorf("unknown case %q", c)
		}
	}
	srv := exec.Command(os.Args[0], "-serve")
	out, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the stand-in: %w", err)
	}
	url := strings.TrimSpace(line)

	got := make(map[string][]result)
	for r := range rounds {
		for _, c := range cases {
			res, err := trialProcess(c, url, records)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, c, err)
			}
			got[c] = append(got[c], res)
		}
	}
	fmt.Printf("bulk post of %d records in chunks of %d, %d in flight, API stand-in in its own process; medians of %d rounds\n\n",
		records, dynamo.MaxTasksPerBatch, concurrency, rounds)
	fmt.Printf("%-7s %9s %9s %12s %12s %10s %10s %10s\n", "case", "wall s", "CPU s", "mem MiB", "B/record", "wall÷loop", "CPU÷loop", "wall÷slice")
	med := func(c string) (wall, cpu time.Duration, mem int64) {
		var ws, cs []time.Duration
		var ms []float64
		for _, r := range got[c] {
			ws, cs, ms = append(ws, r.Wall), append(cs, r.CPU), append(ms, float64(r.Peak-r.Before))
		}
		return stats.MedianDuration(ws), stats.MedianDuration(cs), int64(stats.Median(ms))
	}
	loopWall, loopCPU, _ := med("loop")
	sliceWall, _, _ := med("slice")
	ratio := func(a, b time.Duration) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
	}
	for _, c := range cases {
		wall, cpu, mem := med(c)
		fmt.Printf("%-7s %9.2f %9.2f %12.1f %12.1f %10s %10s %10s\n", c, wall.Seconds(), cpu.Seconds(),
			float64(mem)/(1<<20), float64(mem)/float64(records),
			ratio(wall, loopWall), ratio(cpu, loopCPU), ratio(wall, sliceWall))
	}
	fmt.Println("\nmem: peak resident set above the process's own before the job (for slice, after its records were built).")
	return nil
}

// trialProcess runs one trial in a child process.
func trialProcess(c, url string, records int) (result, error) {
	cmd := exec.Command(os.Args[0], "-trial", c, "-url", url, "-records", strconv.Itoa(records))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	return r, json.Unmarshal(out, &r)
}

// runTrial runs case c once and prints its result.
func runTrial(c, url string, records int) error {
	ctx := context.Background()
	client, err := dynamo.NewClient(tenantID, apiKey, dynamo.WithBaseURL(url))
	if err != nil {
		return err
	}
	var job func() error
	switch c {
	case "loop":
		job = func() error { return handLoop(ctx, url, records) }
	case "slice":
		tasks := make([]dynamo.Task, records)
		for i := range tasks {
			tasks[i] = record(i)
		}
		job = func() error {
			_, err := client.PostBulk(ctx, &dynamo.Batch{Template: template, Tasks: tasks})
			return err
		}
	case "from", "resume":
		var opts []dynamo.BulkOption
		if c == "resume" {
			dir, err := os.MkdirTemp("", "bulkbench")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			opts = append(opts, dynamo.WithJournal(filepath.Join(dir, "job.jsonl")))
			if _, err := client.PostBulkFrom(ctx, &dynamo.Batch{Template: template}, source(records), opts...); err != nil {
				return err
			}
		}
		job = func() error {
			_, err := client.PostBulkFrom(ctx, &dynamo.Batch{Template: template}, source(records), opts...)
			return err
		}
	default:
		return fmt.Errorf("unknown case %q", c)
	}
	resetPeakRSS()
	r := result{Before: rss("VmRSS:")}
	cpu, start := stats.ProcessCPU(), time.Now()
	if err := job(); err != nil {
		return err
	}
	r.Wall, r.CPU, r.Peak = time.Since(start), stats.ProcessCPU()-cpu, rss("VmHWM:")
	return json.NewEncoder(os.Stdout).Encode(r)
}

// record is record i of the job: what a CSV row of an ID, a locale and an
// amount gives.
func record(i int) dynamo.Task {
	return dynamo.Task{Params: dynamo.Params{"id": fmt.Sprintf("a01%07d", i), "locale": "en_US", "amount": strconv.Itoa(i % 100000)}}
}

// source makes the records as they are read.
func source(n int) dynamo.BulkSource {
	return dynamo.BulkSourceFunc(func(context.Context) iter.Seq2[dynamo.Task, error] {
		return func(yield func(dynamo.Task, error) bool) {
			for i := range n {
				if !yield(record(i), nil) {
					return
				}
			}
		}
	})
}

// handLoop is the baseline: what a program without the SDK would write.
func handLoop(ctx context.Context, url string, n int) error {
	type task struct {
		Params map[string]any `json:"params"`
	}
	type batch struct {
		Template string `json:"template"`
		Tasks    []task `json:"tasks"`
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	post := func(body []byte) {
		defer wg.Done()
		defer func() { <-sem }()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Dynamo-Tenant-Id", tenantID)
		req.Header.Set("X-Dynamo-Api-Key", apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var out struct{ ID string }
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err == nil && (resp.StatusCode/100 != 2 || out.ID == "") {
				err = errors.New(resp.Status)
			}
		}
		if err != nil {
			mu.Lock()
			firstErr = cmpOr(firstErr, err)
			mu.Unlock()
		}
	}
	b := batch{Template: template}
	for i := range n {
		b.Tasks = append(b.Tasks, task{Params: record(i).Params})
		if len(b.Tasks) == dynamo.MaxTasksPerBatch || i == n-1 {
			body, err := json.Marshal(b)
			if err != nil {
				return err
			}
			sem <- struct{}{}
			wg.Add(1)
			go post(body)
			b.Tasks = nil
		}
	}
	wg.Wait()
	return firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func rss(field string) int64 { return stats.StatusKiB(field) << 10 }

// resetPeakRSS makes VmHWM start again from the current RSS.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
