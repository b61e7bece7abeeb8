package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// envRunTool, in the environment of the test binary, makes it the tool: the
// process-level tests run it as a child process (see startTool).
const envRunTool = "DYNAMO_TEST_RUN_TOOL"

// TestMain fails the package when a run leaves a goroutine behind: a
// progress ticker, a batch follower or an idle connection. With
// envRunTool set, the test binary is the tool instead.
func TestMain(m *testing.M) {
	if os.Getenv(envRunTool) != "" {
		limitFileSize()
		main() // exits
	}
	goleak.VerifyTestMain(m)
}

// result is what one run of the command left.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runWith runs the command in-process with env as its whole environment.
// Waits poll every 5ms.
func runWith(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return startWith(t, env, args...).wait(t)
}

// invocation is a run of the command in-process, in the background, that
// the test can send signals and watch the stderr of.
type invocation struct {
	signals chan os.Signal
	stdout  bytes.Buffer
	stderr  lineWriter
	done    chan int // the exit code
}

// startWith starts the command in-process with env as its whole
// environment. Waits poll every 5ms.
func startWith(t *testing.T, env map[string]string, args ...string) *invocation {
	t.Helper()
	inv := &invocation{signals: make(chan os.Signal, 2), done: make(chan int, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	go func() {
		defer cancel()
		inv.done <- run(ctx, process{
			args:   append([]string{"--poll-interval=5ms"}, args...),
			stdin:  strings.NewReader(""),
			stdout: &inv.stdout, stderr: &inv.stderr,
			env:     func(k string) string { return env[k] },
			signals: inv.signals,
		})
	}()
	return inv
}

// wait waits for the command to end.
func (inv *invocation) wait(t *testing.T) result {
	t.Helper()
	select {
	case code := <-inv.done:
		return result{code: code, stdout: inv.stdout.String(), stderr: inv.stderr.String()}
	case <-time.After(30 * time.Second):
		t.Fatalf("the command did not end\n--- stderr\n%s", inv.stderr.String())
		return result{}
	}
}

// lineWriter collects what is written to it and lets a test wait for a text
// to appear in it.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
	return w.buf.Write(p)
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the text holds sub.
func (w *lineWriter) waitFor(t *testing.T, sub string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		if strings.Contains(w.buf.String(), sub) {
			w.mu.Unlock()
			return
		}
		if w.changed == nil {
			w.changed = make(chan struct{})
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%q never appeared in:\n%s", sub, w.String())
		}
	}
}

// newServer starts a fake Dynamo API for one test.
func newServer(t *testing.T, opts ...dynamotest.ServerOption) (*dynamotest.Server, map[string]string) {
	t.Helper()
	srv := dynamotest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, map[string]string{
		"DYNAMO_BASE_URL":  srv.URL,
		"DYNAMO_TENANT_ID": srv.TenantID,
		"DYNAMO_API_KEY":   srv.APIKey,
	}
}

// writeFile writes content to a file named name in a new temporary
// directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// decodeJSON parses stdout as one JSON document into v.
func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document\n%s", r)
	}
}

func TestMissingCredentials(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{},
		{"DYNAMO_TENANT_ID": "00D000000000001AAA"},
		{"DYNAMO_API_KEY": "k"},
	} {
		r := runWith(t, env, "post", "--template", "T", "--id", "001")
		wantCode(t, r, exitUsage)
		wantContains(t, "stderr", r.stderr, "DYNAMO_TENANT_ID", "DYNAMO_API_KEY")
	}
}

func TestBadBaseURL(t *testing.T) {
	t.Parallel()
	r := runWith(t, map[string]string{"DYNAMO_TENANT_ID": "t", "DYNAMO_API_KEY": "k", "DYNAMO_BASE_URL": "http://example.com"},
		"status", "b1")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "DYNAMO_BASE_URL", "plain http")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	dap := writeFile(t, "t.dap", "DAP")
	data := writeFile(t, "data.json", `{"a": [1, 2]}`)
	badJSON := writeFile(t, "bad.json", `{"a": `)
	twoJSON := writeFile(t, "two.json", `{} {}`)
	many := make([]string, 0, 2*1001+4)
	many = append(many, "post", "--template", "T")
	for range 1001 {
		many = append(many, "--id", "001")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"post", "--templat", "T"}, "--templat"},
		{"no template", []string{"post", "--id", "1"}, "--template ID or --dap FILE"},
		{"both templates", []string{"post", "--template", "T", "--dap", dap, "--id", "1"}, "--template and --dap"},
		{"no records", []string{"post", "--template", "T"}, "--id ID"},
		{"id and csv", []string{"post", "--template", "T", "--id", "1", "--csv", data}, "--id and --csv"},
		{"empty id", []string{"post", "--template", "T", "--id", " "}, "--id: empty"},
		{"part without dap", []string{"post", "--template", "T", "--id", "1", "--part", "x=" + data}, "--part needs"},
		{"part without file", []string{"post", "--dap", dap, "--id", "1", "--part", "x"}, "--part \"x\""},
		{"part bad JSON", []string{"post", "--dap", dap, "--id", "1", "--part", "x=" + badJSON}, "--part x=" + badJSON + ": not valid JSON"},
		{"part two values", []string{"post", "--dap", dap, "--id", "1", "--part", "x=" + twoJSON}, "more than one value"},
		{"part missing file", []string{"post", "--dap", dap, "--id", "1", "--part", "x=nope.json"}, "--part x=nope.json: no such file"},
		{"part bad name", []string{"post", "--dap", dap, "--id", "1", "--part", "a b=" + data}, `parts[0].name: "a b" must match`},
		{"param without =", []string{"post", "--template", "T", "--id", "1", "--param", "locale"}, `--param "locale"`},
		{"param id", []string{"post", "--template", "T", "--id", "1", "--param", "id=2"}, "--param id"},
		{"param twice", []string{"post", "--template", "T", "--id", "1", "--param", "a=1", "--param", "a=2"}, "--param a: given twice"},
		{"dap missing", []string{"post", "--dap", "nope.dap", "--id", "1"}, "--dap nope.dap"},
		{"too many ids", many, "use 'dynamo bulk"},
		{"status no args", []string{"status"}, "dynamo status"},
		{"status 3 args", []string{"status", "a", "b", "c"}, "dynamo status"},
		{"wait no args", []string{"wait"}, "dynamo wait"},
		{"results no out", []string{"results", "b1"}, "--out"},
		{"bulk no csv", []string{"bulk", "--template", "T"}, "--csv"},
		{"bulk chunk size", []string{"bulk", "--template", "T", "--csv", data, "--chunk-size", "1001"}, "--chunk-size 1001"},
		{"bulk concurrency", []string{"bulk", "--template", "T", "--csv", data, "--concurrency", "0"}, "--concurrency 0"},
		{"bulk repost without journal", []string{"bulk", "--template", "T", "--csv", data, "--repost-unknown"}, "--repost-unknown needs --journal"},
		{"bulk negative grace", []string{"bulk", "--template", "T", "--csv", data, "--grace", "-1s"}, "--grace -1s: must not be negative"},
		{"progress mode", []string{"--progress", "fancy", "wait", "b1"}, "--progress"},
		{"salesforce half", []string{"post", "--template", "T", "--id", "1"}, "DYNAMO_SF_SERVER_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env
			if tc.name == "salesforce half" {
				e = map[string]string{"DYNAMO_SF_SESSION_ID": "s"}
				for k, v := range env {
					e[k] = v
				}
			}
			r := runWith(t, e, tc.args...)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, tc.want)
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("bad usage sent %d requests", n)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "--help")
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "post", "status", "wait", "results", "bulk", "task", "auth", "Exit codes")
	if strings.Contains(r.stdout, "poll-interval") {
		t.Error("help shows the hidden --poll-interval flag")
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "--version")
	wantCode(t, r, exitOK)
	want := "dynamo " + dynamo.Version + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if r.stdout != want {
		t.Errorf("--version printed %q, want %q", r.stdout, want)
	}
	wantContains(t, "help", runWith(t, nil, "--help").stdout, "--version")
}

func TestNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	const key, session = "key-0123456789abcdef", "00Dsession!ABCDEFGHIJ"
	f := newFake(t, dynamotest.WithCredentials("00D000000000001AAA", key))
	f.completeOnAccept()
	srv, env := f.srv, f.env
	env["DYNAMO_SF_SESSION_ID"] = session
	env["DYNAMO_SF_SERVER_URL"] = "https://example.my.salesforce.com"
	var all strings.Builder
	check := func(r result) {
		all.WriteString(r.stdout)
		all.WriteString(r.stderr)
	}
	r := runWith(t, env, "--verbose", "post", "--template", "T", "--id", "001", "--wait")
	wantCode(t, r, exitOK)
	check(r)
	r = runWith(t, env, "--verbose", "--json", "post", "--template", "T", "--id", "001")
	wantCode(t, r, exitOK)
	check(r)

	// A refused key and a server that echoes the session back.
	wrong := map[string]string{"DYNAMO_BASE_URL": srv.URL, "DYNAMO_TENANT_ID": srv.TenantID, "DYNAMO_API_KEY": "wrong-" + key,
		"DYNAMO_SF_SESSION_ID": session, "DYNAMO_SF_SERVER_URL": "https://example.my.salesforce.com"}
	r = runWith(t, wrong, "--verbose", "post", "--template", "T", "--id", "001")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "401", "DYNAMO_API_KEY")
	check(r)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 400, Body: `{"message": "bad session ` + session + ` for key ` + key + `"}`})
	r = runWith(t, env, "post", "--template", "T", "--id", "001")
	wantCode(t, r, exitFailed)
	check(r)

	for _, secret := range []string{key, session} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("the output shows the secret %q:\n%s", secret, all.String())
		}
	}
	// The session reached the API all the same.
	b := srv.Batches()[0]
	if b.Integration["sessionID"] != session {
		t.Errorf("integration %v, want the session from the environment", b.Integration)
	}
}
