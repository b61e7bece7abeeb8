package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The trials of a round, per size.
const (
	trialTool    = "tool"                    // dynamo bulk --no-wait
	trialLoop    = "loop"                    // the hand-written loop
	trialJournal = "tool --journal"          // the same, with a new journal
	trialResume  = "resume"                  // the same command again: nothing left to post
	trialNoDups  = "tool --allow-duplicates" // without the check for repeated records
	trialFake    = "tool --fake"             // against the tool's in-process fake, with -fake
)

var trialOrder = []string{trialLoop, trialTool, trialJournal, trialResume, trialNoDups}

// sample is one trial's figures.
type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
	firstPost time.Duration // -1 when nothing was posted
}

// bench is one run of the benchmark.
type bench struct {
	o        *options
	exe      string // this program
	tool     string
	dir      string
	standIn  *standInClient
	launcher *launcher
	stderr   io.Writer
	// samples by size, then trial.
	samples map[int]map[string][]sample
	// floorKiB is the launcher's own peak RSS: no child's is below it.
	floorKiB int64
}

func runBench(o *options, stdout, stderr io.Writer) error {
	b := &bench{o: o, stderr: stderr, samples: map[int]map[string][]sample{}}
	var err error
	if b.exe, err = os.Executable(); err != nil {
		return err
	}
	b.dir = o.dir
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "bulktoolbench"); err != nil {
			return err
		}
		defer os.RemoveAll(b.dir)
	}
	if b.tool = o.tool; b.tool == "" {
		b.tool = filepath.Join(b.dir, "dynamo")
		fmt.Fprintln(stderr, "bulktoolbench: building ./cmd/dynamo")
		build := exec.Command("go", "build", "-o", b.tool, "github.com/dynamokit/dynamo/cmd/dynamo")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the tool (run from the repository, or give -tool): %w", err)
		}
	}
	stopStandIn, err := b.startStandIn()
	if err != nil {
		return err
	}
	defer stopStandIn()
	if b.launcher, err = startLauncher(b.exe, stderr); err != nil {
		return err
	}
	defer b.launcher.stop()

	files := map[int]string{}
	for _, n := range o.records {
		files[n] = filepath.Join(b.dir, fmt.Sprintf("records-%d.csv", n))
		if err := writeCSVFile(files[n], n); err != nil {
			return err
		}
		b.samples[n] = map[string][]sample{}
	}
	for round := range o.rounds {
		for _, n := range o.records {
			order := []string{trialTool, trialLoop}
			if round%2 == 1 {
				order = []string{trialLoop, trialTool}
			}
			order = append(order, trialJournal, trialResume, trialNoDups)
			if b.o.fake {
				order = append(order, trialFake)
			}
			for _, trial := range order {
				s, err := b.trial(trial, n, files[n])
				if err != nil {
					return fmt.Errorf("round %d, %d records, %s: %w", round+1, n, trial, err)
				}
				b.samples[n][trial] = append(b.samples[n][trial], s)
				fmt.Fprintf(stderr, "bulktoolbench: round %d, %d records, %-24s wall %6.2fs  CPU %6.2fs  RSS %7.1f MiB  first post %s\n",
					round+1, n, trial, s.wall.Seconds(), s.cpu.Seconds(), float64(s.rssKiB)/1024, firstPostString(s.firstPost))
			}
		}
	}
	b.report(stdout)
	return nil
}

// startStandIn starts the API stand-in in a process of its own.
func (b *bench) startStandIn() (stop func(), err error) {
	cmd := exec.Command(b.exe, "-standin")
	cmd.Stderr = b.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the stand-in: %w", err)
	}
	stop = func() {
		stdin.Close()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("the stand-in gave no URL: %w", err)
	}
	b.standIn = &standInClient{url: strings.TrimSpace(line), hc: &http.Client{Timeout: time.Minute}}
	return stop, nil
}

// trial runs one trial on the file of n records and checks what the
// stand-in received.
func (b *bench) trial(trial string, n int, csv string) (sample, error) {
	if err := b.standIn.reset(); err != nil {
		return sample{}, err
	}
	journal := csv + ".journal"
	req := spawnRequest{Path: b.tool, Timeout: b.o.timeout, Env: []string{
		"DYNAMO_BASE_URL=" + b.standIn.url, "DYNAMO_TENANT_ID=" + tenantID, "DYNAMO_API_KEY=" + apiKey,
	}}
	args := []string{"bulk", "--template", "T", "--csv", csv, "--no-wait", "--concurrency", strconv.Itoa(b.o.concurrency)}
	want := int64(n)
	switch trial {
	case trialLoop:
		req.Path, req.Env = b.exe, nil
		args = []string{"-loop", "-url", b.standIn.url, "-csv", csv, "-concurrency", strconv.Itoa(b.o.concurrency)}
	case trialJournal:
		if err := os.Remove(journal); err != nil && !os.IsNotExist(err) {
			return sample{}, err
		}
		args = append(args, "--journal", journal)
	case trialResume:
		args = append(args, "--journal", journal)
		want = 0
	case trialNoDups:
		args = append(args, "--allow-duplicates")
	case trialFake:
		req.Env = nil
		args = append(args, "--fake")
		want = 0 // the fake is in the tool's process
	}
	req.Args = args
	res, err := b.launcher.run(req)
	if err != nil {
		return sample{}, err
	}
	if res.Err != "" {
		return sample{}, fmt.Errorf("%s\n%s", res.Err, res.Stderr)
	}
	st, err := b.standIn.stats()
	if err != nil {
		return sample{}, err
	}
	if st.Tasks != want {
		return sample{}, fmt.Errorf("the stand-in accepted %d tasks, want %d\n%s", st.Tasks, want, res.Stderr)
	}
	b.floorKiB = max(b.floorKiB, res.SpawnerHWM)
	s := sample{wall: res.Wall, cpu: res.CPU, rssKiB: res.MaxRSS, firstPost: -1}
	if st.FirstPost != 0 {
		s.firstPost = time.Duration(st.FirstPost - res.Start)
	}
	return s, nil
}

func firstPostString(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
