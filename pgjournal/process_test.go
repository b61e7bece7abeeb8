//go:build linux

package pgjournal_test

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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/pgjournal"
)

// These tests run PostBulk with the PostgreSQL journal in child processes,
// standing in for two machines of a fleet, against a fake API in the test
// process and the test server. They end the first run the ways a machine's
// run ends (SIGKILL, its connection terminated, the server restarted, the
// database refusing writes) and start a second, and count what the fake
// accepted: every record exactly once, or its chunk reported unknown and
// not posted again.

const (
	testTenantID = "00D5g000004QpXyEAK"
	testAPIKey   = "KEY-s3cr3t-6f1d0c9a4e7b2853aa17c4d6e9f03b58"
)

// The child's settings, in its environment.
const (
	envRecords = "PGJOURNAL_TEST_RECORDS"
	envChunk   = "PGJOURNAL_TEST_CHUNK"
	envJob     = "PGJOURNAL_TEST_JOB"
	envSchema  = "PGJOURNAL_TEST_SCHEMA"
)

// childHolds starts the line the child writes once it holds the job,
// followed by the server process of the connection that holds it.
const childHolds = "child: holding the job on backend "

// childReport is what the child prints on stdout when PostBulk returns.
type childReport struct {
	States     []string `json:"states"`
	Err        string   `json:"err"`
	InUse      bool     `json:"inUse"`
	Lost       bool     `json:"lost"`
	Unrecorded []int    `json:"unrecorded"`
}

func init() { children["bulk"] = bulkChild }

// bulkChild posts PGJOURNAL_TEST_RECORDS records in chunks, two at a time,
// with the job PGJOURNAL_TEST_JOB's journal in the test server.
func bulkChild() int {
	n, _ := strconv.Atoi(os.Getenv(envRecords))
	chunk, _ := strconv.Atoi(os.Getenv(envChunk))
	client, err := dynamo.NewClientFromEnv(dynamo.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer client.CloseIdleConnections()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer pool.Close()
	store, err := pgjournal.New(pool, os.Getenv(envJob), pgjournal.WithSchema(os.Getenv(envSchema)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rep, err := client.PostBulk(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(n)},
		dynamo.WithJournalStore(announcing{store}), dynamo.WithChunkSize(chunk), dynamo.WithBulkConcurrency(2))

	out := childReport{InUse: errors.Is(err, dynamo.ErrJournalInUse), Lost: errors.Is(err, dynamo.ErrJournalLost)}
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
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	if err != nil || rep.Err() != nil {
		return 1
	}
	return 0
}

// announcing says on stderr which server process holds the job, so that
// the test can end that connection or wait for it to be gone.
type announcing struct{ *pgjournal.Store }

func (a announcing) Open(ctx context.Context) (dynamo.Journal, error) {
	j, err := a.Store.Open(ctx)
	if err == nil {
		fmt.Fprintf(os.Stderr, "%s%d\n", childHolds, pgjournal.BackendPID(j))
	}
	return j, err
}

func records(n int) []dynamo.Task {
	tasks := make([]dynamo.Task, n)
	for i := range tasks {
		tasks[i] = dynamo.Task{Params: dynamo.Params{"id": recordID(i)}}
	}
	return tasks
}

func recordID(i int) string { return fmt.Sprintf("a0B%09d", i) }

// waitLimit bounds every wait on a child or the server: far longer than
// any of them takes, even under -race on a loaded machine.
const waitLimit = 60 * time.Second

// fake is a fake API for the children, counting accepted posts.
//
// It, child and their methods are small copies of the root package's
// bulkFake and child: this module's tests cannot import another module's
// test files, and a few lines of test helpers do not warrant a public API
// of dynamotest.
type fake struct {
	*dynamotest.Server
	accepted chan struct{}
}

func newFake(t *testing.T) *fake {
	f := &fake{accepted: make(chan struct{}, 1000)}
	f.Server = dynamotest.NewServer(
		dynamotest.WithCredentials(testTenantID, testAPIKey),
		dynamotest.WithOnAccept(func(dynamotest.Accepted) { f.accepted <- struct{}{} }),
	)
	t.Cleanup(f.Close)
	return f
}

func (f *fake) waitAccepted(t *testing.T, n int) {
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

// holdPosts makes the next n posts be accepted, then held unanswered until
// release is called.
func (f *fake) holdPosts(t *testing.T, n int) (release func()) {
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

func (f *fake) posts() int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// requireAcceptedOnce fails t unless each of the first n records was
// accepted exactly once.
func (f *fake) requireAcceptedOnce(t *testing.T, n int) {
	t.Helper()
	counts := make(map[string]int)
	for _, b := range f.Batches() {
		for _, task := range b.Tasks {
			id, _ := task.Params["id"].(string)
			counts[id]++
		}
	}
	if len(counts) != n {
		t.Fatalf("%d distinct records accepted, want %d", len(counts), n)
	}
	for i := range n {
		if c := counts[recordID(i)]; c != 1 {
			t.Fatalf("record %d accepted %d times", i, c)
		}
	}
}

// job is a job of the test's own, in a schema of its own.
type job struct {
	pool         *pgxpool.Pool
	name, schema string
}

func newJob(t *testing.T) job {
	pool := newPool(t)
	return job{pool: pool, name: "month-end", schema: newSchema(t, pool)}
}

// child is a running child process (see fake for why it is a copy).
type child struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string
	done   chan struct{}
}

func (j job) start(t *testing.T, f *fake, records, chunk int) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=bulk",
		dynamo.EnvBaseURL+"="+f.URL, dynamo.EnvTenantID+"="+testTenantID, dynamo.EnvAPIKey+"="+testAPIKey,
		envJob+"="+j.name, envSchema+"="+j.schema,
		envRecords+"="+strconv.Itoa(records), envChunk+"="+strconv.Itoa(chunk))
	c := &child{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stdout = &c.stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("child %d: %s", cmd.Process.Pid, sc.Text())
			c.lines <- sc.Text()
		}
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// backend waits until the child holds the job, and returns the server
// process of the connection that holds it.
func (c *child) backend(t *testing.T) int32 {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case l := <-c.lines:
			if pid, ok := strings.CutPrefix(l, childHolds); ok {
				n, err := strconv.Atoi(pid)
				if err != nil {
					t.Fatal(err)
				}
				return int32(n)
			}
		case <-c.done:
			t.Fatal("the child ended before it held the job")
		case <-timeout:
			t.Fatal("timed out waiting for the child to hold the job")
		}
	}
}

func (c *child) wait(t *testing.T) (childReport, int) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for the child to end")
	}
	var rep childReport
	if c.stdout.Len() > 0 {
		if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil {
			t.Fatalf("the child's report %q: %v", c.stdout.String(), err)
		}
	}
	return rep, c.cmd.ProcessState.ExitCode()
}

func (j job) run(t *testing.T, f *fake, records, chunk int) (childReport, int) {
	t.Helper()
	return j.start(t, f, records, chunk).wait(t)
}

// waitGone waits until the server process backend has ended, and with it
// the lock its connection held.
func (j job) waitGone(t *testing.T, backend int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// pg_stat_activity is a snapshot per transaction: each query is its own.
	for {
		var n int
		if err := j.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend).Scan(&n); err != nil {
			t.Fatalf("waiting for backend %d to end: %v", backend, err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("backend %d did not end", backend)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// terminate ends the server process backend, and waits until it is gone.
func (j job) terminate(t *testing.T, backend int32) {
	t.Helper()
	var ended bool
	if err := j.pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1, 30000)", backend).Scan(&ended); err != nil || !ended {
		t.Fatalf("pg_terminate_backend(%d): %v (ended: %v)", backend, err, ended)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: %q, want %q", what, got, want)
	}
}

func TestProcessKilledWhilePostsAreInFlight(t *testing.T) {
	f, j := newFake(t), newJob(t)
	f.holdPosts(t, 2)
	first := j.start(t, f, 2500, 1000)
	backend := first.backend(t)
	f.waitAccepted(t, 2) // both batches exist; their answers are held
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, code := first.wait(t); code != -1 {
		t.Fatalf("exit code %d, want killed", code)
	}
	j.waitGone(t, backend) // the server saw the connection close

	rep, code := j.run(t, f, 2500, 1000)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (chunks of unknown outcome): %s", code, rep.Err)
	}
	equal(t, "the second run's chunks", rep.States, []string{"unknown", "unknown", "accepted"})
	f.requireAcceptedOnce(t, 2500)
	if n := f.posts(); n != 3 {
		t.Errorf("%d posts, want 3", n)
	}
}

func TestProcessTwoRunsStartedTogether(t *testing.T) {
	f, j := newFake(t), newJob(t)
	release := f.holdPosts(t, 2)
	a, b := j.start(t, f, 2500, 1000), j.start(t, f, 2500, 1000)

	// The one refused ends at once, while the other's posts are held.
	var refused, holder *child
	select {
	case <-a.done:
		refused, holder = a, b
	case <-b.done:
		refused, holder = b, a
	case <-time.After(waitLimit):
		t.Fatal("neither run was refused")
	}
	rep, code := refused.wait(t)
	if code != 1 || !rep.InUse {
		t.Fatalf("the second run: exit code %d, in use %v: %s", code, rep.InUse, rep.Err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"process " + strconv.Itoa(holder.cmd.Process.Pid), "host " + host} {
		if !strings.Contains(rep.Err, want) {
			t.Errorf("the refusal %q does not say %q", rep.Err, want)
		}
	}
	if len(rep.States) != 0 {
		t.Errorf("the refused run reports chunks: %q", rep.States)
	}

	f.waitAccepted(t, 2)
	release()
	rep, code = holder.wait(t)
	if code != 0 {
		t.Fatalf("the run that holds the job: exit code %d: %s", code, rep.Err)
	}
	f.requireAcceptedOnce(t, 2500)
	if n := f.posts(); n != 3 {
		t.Errorf("%d posts, want 3: the refused run posted", n)
	}
}

// TestProcessConnectionTerminated ends the connection that holds the job
// while the first run's posts are in flight, lets a second run take the
// job over and finish it, and only then answers the first run's posts: the
// first run must record nothing and start no further chunk.
func TestProcessConnectionTerminated(t *testing.T) {
	f, j := newFake(t), newJob(t)
	release := f.holdPosts(t, 2)
	first := j.start(t, f, 5000, 1000)
	backend := first.backend(t)
	f.waitAccepted(t, 2)
	j.terminate(t, backend)

	rep, code := j.run(t, f, 5000, 1000)
	if code != 1 {
		t.Errorf("the second run: exit code %d, want 1 (chunks of unknown outcome): %s", code, rep.Err)
	}
	equal(t, "the second run's chunks", rep.States, []string{"unknown", "unknown", "accepted", "accepted", "accepted"})

	release()
	rep, code = first.wait(t)
	if code != 1 || !rep.Lost {
		t.Fatalf("the first run: exit code %d, lost %v: %s", code, rep.Lost, rep.Err)
	}
	equal(t, "the first run's chunks", rep.States, []string{"accepted", "accepted", "not-started", "not-started", "not-started"})
	if want := "pgjournal: appending: the job is no longer held by this run: the connection that held it was lost: "; !strings.Contains(rep.Err, want) ||
		strings.Count(rep.Err, "dynamo: ") != 1 {
		t.Errorf("the first run's error does not say %q, with \"dynamo: \" once: %s", want, rep.Err)
	}
	f.requireAcceptedOnce(t, 5000)
	if n := f.posts(); n != 5 {
		t.Errorf("%d posts, want 5", n)
	}
}

// TestProcessServerRestarted restarts the database server while the first
// run's posts are in flight: it cannot record their outcome, starts no
// further chunk, and the next run reads them as unknown.
func TestProcessServerRestarted(t *testing.T) {
	data, bin, runAs := os.Getenv("DYNAMO_TEST_PGDATA"), os.Getenv("DYNAMO_TEST_PGBIN"), os.Getenv("DYNAMO_TEST_PGRUNAS")
	if data == "" || bin == "" {
		t.Fatal("restarting the server needs the server that .ci/postgres starts (DYNAMO_TEST_PGDATA, DYNAMO_TEST_PGBIN): run the tests with .ci/postgres")
	}
	f, j := newFake(t), newJob(t)
	release := f.holdPosts(t, 2)
	first := j.start(t, f, 3500, 1000)
	first.backend(t)
	f.waitAccepted(t, 2)

	// The server's output goes to a log, not to this process's pipe, which
	// it would hold open.
	args := []string{bin + "/pg_ctl", "-D", data, "-l", filepath.Join(filepath.Dir(data), "server.log"), "-m", "fast", "-w", "-t", "60", "restart"}
	if runAs != "" {
		args = append([]string{"runuser", "-u", runAs, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restarting the server: %v\n%s", err, out)
	}
	j.pool.Reset() // the test's own connections went with the old server

	release()
	rep, code := first.wait(t)
	if code != 1 || !rep.Lost {
		t.Fatalf("the first run: exit code %d, lost %v: %s", code, rep.Lost, rep.Err)
	}
	equal(t, "the first run's chunks", rep.States, []string{"accepted", "accepted", "not-started", "not-started"})
	equal(t, "the chunks it could not record", intsToStrings(rep.Unrecorded), []string{"0", "1"})

	rep, code = j.run(t, f, 3500, 1000)
	if code != 1 {
		t.Errorf("the second run: exit code %d, want 1 (chunks of unknown outcome): %s", code, rep.Err)
	}
	equal(t, "the second run's chunks", rep.States, []string{"unknown", "unknown", "accepted", "accepted"})
	f.requireAcceptedOnce(t, 3500)
}

// TestProcessStoreRefusesWrites makes the server refuse writes (as a
// primary turned read-only, or a failover to a standby, does) while the
// first run's posts are in flight.
func TestProcessStoreRefusesWrites(t *testing.T) {
	f, j := newFake(t), newJob(t)
	release := f.holdPosts(t, 2)
	first := j.start(t, f, 3500, 1000)
	first.backend(t)
	f.waitAccepted(t, 2)

	j.setReadOnly(t, true)
	release()
	rep, code := first.wait(t)
	if code != 1 {
		t.Fatalf("the first run: exit code %d: %s", code, rep.Err)
	}
	if !strings.Contains(rep.Err, "read-only") {
		t.Errorf("the first run's error does not say the database refused the write: %s", rep.Err)
	}
	equal(t, "the first run's chunks", rep.States, []string{"accepted", "accepted", "not-started", "not-started"})
	equal(t, "the chunks it could not record", intsToStrings(rep.Unrecorded), []string{"0", "1"})

	j.setReadOnly(t, false)
	rep, code = j.run(t, f, 3500, 1000)
	if code != 1 {
		t.Errorf("the second run: exit code %d, want 1 (chunks of unknown outcome): %s", code, rep.Err)
	}
	equal(t, "the second run's chunks", rep.States, []string{"unknown", "unknown", "accepted", "accepted"})
	f.requireAcceptedOnce(t, 3500)
}

// setReadOnly makes every session of the server, those open included,
// refuse writes (default_transaction_read_only, reloaded), or write again.
func (j job) setReadOnly(t *testing.T, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	stmt := "ALTER SYSTEM RESET default_transaction_read_only"
	if on {
		stmt = "ALTER SYSTEM SET default_transaction_read_only = on"
		t.Cleanup(func() { j.setReadOnly(t, false) })
	}
	for _, s := range []string{"SET default_transaction_read_only = off", stmt, "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// The postmaster signals every server process as it reloads, before it
	// starts a new one: a new connection that sees the setting shows that
	// the open ones have been told.
	want := map[bool]string{true: "on", false: "off"}[on]
	for {
		var got string
		c, err := j.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = c.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&got)
		c.Conn().Close(ctx) // a new connection each time
		c.Release()
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server did not reload default_transaction_read_only = %s", want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// intsToStrings sorts ns and formats them.
func intsToStrings(ns []int) []string {
	slices.Sort(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}
