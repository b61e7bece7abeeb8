//go:build linux

package dynamo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// These tests run PostBulk with a journal in a child process, as a service
// or a job would, against a fake in the test process, and end it the ways a
// process really ends: SIGKILL, one SIGINT (a graceful stop), two, a second
// run on the same journal, a journal that can no longer be written. Then
// they run the job again and count what the fake accepted: every record
// exactly once, or its chunk reported unknown and not posted again.

// The child's settings, passed in its environment.
const (
	envRecords    = "DYNAMO_TEST_RECORDS"
	envChunk      = "DYNAMO_TEST_CHUNK"
	envJournal    = "DYNAMO_TEST_JOURNAL"
	envRepost     = "DYNAMO_TEST_REPOST_UNKNOWN"
	envLimitAfter = "DYNAMO_TEST_LIMIT_JOURNAL_AFTER_CHUNK" // then the journal may grow by envLimitSlack bytes
	envLimitSlack = "DYNAMO_TEST_LIMIT_JOURNAL_SLACK"
	envForm       = "DYNAMO_TEST_BULK_FORM" // "PostBulk" or "PostBulkFrom"
)

// Lines the child writes on stderr when it acts on a signal.
const (
	childStopping = "child: stopping: no new chunk starts"
	childAborting = "child: aborting the posts in flight"
)

// childReport is what the child prints on stdout when PostBulk returns.
type childReport struct {
	States     []string `json:"states"`   // per chunk
	BatchIDs   []string `json:"batchIDs"` // per chunk
	Err        string   `json:"err"`
	InUse      bool     `json:"inUse"`
	Stopped    bool     `json:"stopped"`
	Unrecorded []int    `json:"unrecorded"` // chunks a failed journal write left out
}

func init() { children["bulk"] = bulkChild }

// bulkChild posts DYNAMO_TEST_RECORDS records with PostBulk, or with
// PostBulkFrom from a source that makes them as they are read, and the
// journal DYNAMO_TEST_JOURNAL. The first SIGINT or SIGTERM stops it gracefully, the
// second aborts the posts in flight.
func bulkChild() int {
	n, _ := strconv.Atoi(os.Getenv(envRecords))
	chunk, _ := strconv.Atoi(os.Getenv(envChunk))
	client, err := dynamo.NewClientFromEnv(dynamo.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer client.CloseIdleConnections()

	stop := make(chan struct{})
	ctx, abort := context.WithCancel(context.Background())
	defer abort()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		close(stop)
		fmt.Fprintln(os.Stderr, childStopping)
		<-signals
		abort()
		fmt.Fprintln(os.Stderr, childAborting)
	}()

	journal := os.Getenv(envJournal)
	opts := []dynamo.BulkOption{
		dynamo.WithJournal(journal), dynamo.WithChunkSize(chunk), dynamo.WithBulkConcurrency(2), dynamo.WithStop(stop),
	}
	if os.Getenv(envRepost) != "" {
		opts = append(opts, dynamo.WithRepostUnknown())
	}
	if after := os.Getenv(envLimitAfter); after != "" {
		opts = append(opts, limitJournalAfter(journal, after), dynamo.WithBulkConcurrency(1))
	}
	var rep *dynamo.BulkReport
	if os.Getenv(envForm) == "PostBulkFrom" {
		rep, err = client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl"}, &recordSource{n: n}, opts...)
	} else {
		rep, err = client.PostBulk(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(n)}, opts...)
	}

	out := childReport{InUse: errors.Is(err, dynamo.ErrJournalInUse), Stopped: errors.Is(err, dynamo.ErrBulkStopped)}
	if err != nil {
		out.Err = err.Error()
	}
	var jerr *dynamo.JournalWriteError
	if errors.As(err, &jerr) {
		for _, ch := range jerr.Unrecorded {
			out.Unrecorded = append(out.Unrecorded, ch.Index)
		}
	}
	if rep != nil {
		for _, ch := range rep.Chunks {
			out.States = append(out.States, ch.State.String())
			out.BatchIDs = append(out.BatchIDs, ch.BatchID)
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	if err != nil || rep.Err() != nil {
		return 1
	}
	return 0
}

// limitJournalAfter caps the size of the files the process may write once
// the chunk after has been recorded, to the journal's size then plus the
// slack: a disk that fills up in the middle of a job.
func limitJournalAfter(journal, after string) dynamo.BulkOption {
	index, _ := strconv.Atoi(after)
	slack, _ := strconv.ParseUint(os.Getenv(envLimitSlack), 10, 64)
	return dynamo.WithChunkDone(func(ch dynamo.ChunkResult) {
		if ch.Index != index {
			return
		}
		fi, err := os.Stat(journal)
		if err != nil {
			panic(err)
		}
		limit := uint64(fi.Size()) + slack
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			panic(err)
		}
	})
}

// waitLimit bounds every wait on the child: far longer than any of them
// takes, even under -race on a loaded machine.
const waitLimit = 60 * time.Second

// bulkFake is a fake API for the children of one test, counting accepted
// posts; form is the children's form of bulk post.
type bulkFake struct {
	*dynamotest.Server
	accepted chan struct{} // one value per accepted post
	form     string
}

// bulkProcessForms runs test once with children posting with PostBulk and
// once with PostBulkFrom.
func bulkProcessForms(t *testing.T, test func(t *testing.T, form string)) {
	for _, form := range []string{"PostBulk", "PostBulkFrom"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			test(t, form)
		})
	}
}

func newBulkFake(t *testing.T, form string) *bulkFake {
	t.Helper()
	f := &bulkFake{accepted: make(chan struct{}, 1000), form: form}
	f.Server = dynamotest.NewServer(
		dynamotest.WithCredentials(testTenantID, testAPIKey),
		dynamotest.WithOnAccept(func(dynamotest.Accepted) { f.accepted <- struct{}{} }),
	)
	t.Cleanup(f.Close)
	return f
}

// waitAccepted waits until the fake has accepted n more posts.
func (f *bulkFake) waitAccepted(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(waitLimit)
	for range n {
		select {
		case <-f.accepted:
		case <-timeout:
			t.Fatalf("timed out waiting for %d posts to be accepted", n)
		}
	}
}

// holdPosts makes the next n posts be accepted and then held, unanswered,
// until the returned function is called (or the client goes away).
func (f *bulkFake) holdPosts(t *testing.T, n int) (release func()) {
	gate := make(chan struct{})
	faults := make([]dynamotest.Fault, n)
	for i := range faults {
		faults[i] = dynamotest.Fault{Hold: gate}
	}
	f.Inject(dynamotest.RoutePostBatch, faults...)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string // the child's stderr, line by line
	done   chan struct{}
	err    error // of Wait, once done is closed
}

// startBulk starts the bulk child on the fake with the journal, for records
// records in chunks of chunk; env adds settings.
func startBulk(t *testing.T, f *bulkFake, journal string, records, chunk int, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envChild+"=bulk",
		dynamo.EnvBaseURL+"="+f.URL, dynamo.EnvTenantID+"="+testTenantID, dynamo.EnvAPIKey+"="+testAPIKey,
		envJournal+"="+journal, envRecords+"="+strconv.Itoa(records), envChunk+"="+strconv.Itoa(chunk), envForm+"="+f.form)
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stdout = &c.stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	forks.RLock()
	err = cmd.Start()
	forks.RUnlock()
	require.NoError(t, err)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("child %d: %s", cmd.Process.Pid, sc.Text())
			c.lines <- sc.Text()
		}
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// waitLine waits until the child writes line on stderr.
func (c *child) waitLine(t *testing.T, line string) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case l := <-c.lines:
			if l == line {
				return
			}
		case <-c.done:
			t.Fatalf("the child ended before writing %q", line)
		case <-timeout:
			t.Fatalf("timed out waiting for the child to write %q", line)
		}
	}
}

func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(sig))
}

// wait waits for the child to end and returns its report (empty when it was
// killed) and exit code.
func (c *child) wait(t *testing.T) (childReport, int) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for the child to end")
	}
	var rep childReport
	if c.stdout.Len() > 0 {
		require.NoError(t, json.Unmarshal(c.stdout.Bytes(), &rep), "the child's report: %s", c.stdout.String())
	}
	return rep, c.cmd.ProcessState.ExitCode()
}

// run runs the bulk child to its end.
func runBulk(t *testing.T, f *bulkFake, journal string, records, chunk int, env ...string) (childReport, int) {
	t.Helper()
	return startBulk(t, f, journal, records, chunk, env...).wait(t)
}

func TestProcessKilledWhilePostsAreInFlight(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		f := newBulkFake(t, form)
		journal := filepath.Join(t.TempDir(), "run.jsonl")
		f.holdPosts(t, 2)

		c := startBulk(t, f, journal, 2500, 1000)
		f.waitAccepted(t, 2) // both batches exist; their answers are held
		require.NoError(t, c.cmd.Process.Kill())
		_, code := c.wait(t)
		require.Equal(t, -1, code, "killed")
		assert.ElementsMatch(t, []string{"0 posting", "1 posting"}, journalStates(t, journal),
			"the journal says which chunks were being posted")

		rep, code := runBulk(t, f, journal, 2500, 1000)
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{"unknown", "unknown", "accepted"}, rep.States,
			"the chunks that were in flight are not posted again")
		requireAcceptedOnce(t, f.Server, 2500)
		assert.Equal(t, 3, requestsTo(f.Server, http.MethodPost))
	})
}

func TestProcessStopsGracefullyOnASignal(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		f := newBulkFake(t, form)
		journal := filepath.Join(t.TempDir(), "run.jsonl")
		release := f.holdPosts(t, 2)

		c := startBulk(t, f, journal, 2500, 1000)
		f.waitAccepted(t, 2)
		c.signal(t, syscall.SIGINT)
		c.waitLine(t, childStopping)
		release() // the answers of the posts in flight arrive after the signal
		rep, code := c.wait(t)
		assert.Equal(t, 1, code)
		assert.True(t, rep.Stopped, "stopped: %s", rep.Err)
		assert.Equal(t, []string{"accepted", "accepted", "not-started"}, rep.States,
			"the posts in flight finished; no new one started")

		rep, code = runBulk(t, f, journal, 2500, 1000)
		assert.Equal(t, 0, code, rep.Err)
		assert.Equal(t, []string{"skipped", "skipped", "accepted"}, rep.States, "the re-run posts only the rest")
		requireAcceptedOnce(t, f.Server, 2500)
	})
}

func TestProcessAbortsOnASecondSignal(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		f := newBulkFake(t, form)
		journal := filepath.Join(t.TempDir(), "run.jsonl")
		f.holdPosts(t, 2)

		c := startBulk(t, f, journal, 2500, 1000)
		f.waitAccepted(t, 2)
		c.signal(t, syscall.SIGINT)
		c.waitLine(t, childStopping)
		c.signal(t, syscall.SIGINT)
		rep, code := c.wait(t)
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{"unknown", "unknown", "not-started"}, rep.States,
			"posts cut off after they were sent have an unknown outcome")

		rep, code = runBulk(t, f, journal, 2500, 1000)
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{"unknown", "unknown", "accepted"}, rep.States, "unknown chunks are not posted again")
		requireAcceptedOnce(t, f.Server, 2500)
	})
}

func TestProcessSecondRunOnAJournalIsRefused(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		f := newBulkFake(t, form)
		journal := filepath.Join(t.TempDir(), "run.jsonl")
		release := f.holdPosts(t, 2)

		first := startBulk(t, f, journal, 2500, 1000)
		f.waitAccepted(t, 2)
		rep, code := runBulk(t, f, journal, 2500, 1000)
		assert.Equal(t, 1, code)
		assert.True(t, rep.InUse, "refused at once: %s", rep.Err)
		assert.Contains(t, rep.Err, "in use")
		assert.Empty(t, rep.States, "nothing was posted")
		assert.Equal(t, 2, requestsTo(f.Server, http.MethodPost), "the second run posted nothing")

		release()
		rep, code = first.wait(t)
		assert.Equal(t, 0, code, rep.Err)
		requireAcceptedOnce(t, f.Server, 2500)
	})
}

func TestProcessJournalThatCannotBeWritten(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		for _, tc := range []struct {
			name  string
			slack int // what the journal may still grow by once chunk 0 is recorded
			// what the failing run reports
			states     []string
			unrecorded []int
			// what the run after reports
			rerun []string
		}{
			// A posting line (about 350 bytes) fits, an accepted line (about 4
			// KB, with its 100 task IDs) does not.
			{"outcome line fails", 1000,
				[]string{"accepted", "accepted", "not-started", "not-started", "not-started"}, []int{1},
				[]string{"skipped", "unknown", "accepted", "accepted", "accepted"}},
			{"posting line fails", 100,
				[]string{"accepted", "not-started", "not-started", "not-started", "not-started"}, nil,
				[]string{"skipped", "accepted", "accepted", "accepted", "accepted"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				f := newBulkFake(t, form)
				journal := filepath.Join(t.TempDir(), "run.jsonl")
				rep, code := runBulk(t, f, journal, 500, 100, envLimitAfter+"=0", envLimitSlack+"="+strconv.Itoa(tc.slack))
				assert.Equal(t, 1, code)
				assert.Equal(t, tc.states, rep.States)
				assert.Equal(t, tc.unrecorded, rep.Unrecorded)
				assert.Contains(t, rep.Err, "could not be written")
				for _, i := range tc.unrecorded {
					assert.Contains(t, rep.Err, fmt.Sprintf("chunk %d (records [%d, %d)) accepted as batch %s", i, i*100, i*100+100, rep.BatchIDs[i]),
						"the error names the unrecorded chunk and its batch")
				}
				journalLines(t, journal) // whole lines only

				rep, _ = runBulk(t, f, journal, 500, 100)
				assert.Equal(t, tc.rerun, rep.States)
				requireAcceptedOnce(t, f.Server, 500)
			})
		}
	})
}

func TestProcessAcceptedWithAnotherSuccessStatus(t *testing.T) {
	t.Parallel()
	bulkProcessForms(t, func(t *testing.T, form string) {
		for _, status := range []int{http.StatusOK, http.StatusCreated} {
			t.Run(strconv.Itoa(status), func(t *testing.T) {
				t.Parallel()
				f := newBulkFake(t, form)
				journal := filepath.Join(t.TempDir(), "run.jsonl")
				f.Inject(dynamotest.RoutePostBatch, slices.Repeat([]dynamotest.Fault{{SuccessStatus: status}}, 3)...)
				rep, code := runBulk(t, f, journal, 2500, 1000)
				assert.Equal(t, 0, code, rep.Err)
				assert.Equal(t, []string{"accepted", "accepted", "accepted"}, rep.States, "a success, not a failure")

				rep, code = runBulk(t, f, journal, 2500, 1000)
				assert.Equal(t, 0, code, rep.Err)
				assert.Equal(t, []string{"skipped", "skipped", "skipped"}, rep.States)
				requireAcceptedOnce(t, f.Server, 2500)
			})
		}
	})
}
