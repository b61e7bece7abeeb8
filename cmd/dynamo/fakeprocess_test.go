//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

// These tests run "dynamo fake" as a child process (the test binary as the
// tool, as in process_test.go), point the tool's other commands at it through
// the variables it printed, each in a process of its own, and check what the
// fake received through its control API.

// fakeProcess is "dynamo fake" running as a child process.
type fakeProcess struct {
	cmd            *exec.Cmd
	stdout, stderr lineWriter
	done           chan struct{}
	env            map[string]string // the variables it printed
}

// startFakeProcess runs "dynamo fake" with args and returns once it has
// printed its variables.
func startFakeProcess(t *testing.T, args ...string) *fakeProcess {
	t.Helper()
	f := &fakeProcess{done: make(chan struct{}), env: make(map[string]string)}
	f.cmd = exec.Command(os.Args[0], append([]string{"fake"}, args...)...)
	f.cmd.Env = []string{envRunTool + "=1", "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	f.cmd.Stdout, f.cmd.Stderr = &f.stdout, &f.stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = f.cmd.Wait()
		close(f.done)
	}()
	t.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		<-f.done
		http.DefaultClient.CloseIdleConnections()
	})
	// The variables come in one write, the last of them this one.
	f.stdout.waitFor(t, "export "+envSFClientSecret+"=")
	f.stderr.waitFor(t, "dynamo fake: state is kept until it stops")
	sc := bufio.NewScanner(strings.NewReader(f.stdout.String()))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok || !strings.HasPrefix(sc.Text(), "export ") {
			t.Fatalf("not an export line: %q", sc.Text())
		}
		f.env[k] = v
	}
	for _, k := range []string{"DYNAMO_BASE_URL", "DYNAMO_TENANT_ID", "DYNAMO_API_KEY", envFakeURL, envSFLoginURL, envSFClientID, envSFClientSecret} {
		if f.env[k] == "" {
			t.Fatalf("%s was not printed:\n%s", k, f.stdout.String())
		}
	}
	return f
}

// stop sends sig and waits for the fake to exit.
func (f *fakeProcess) stop(t *testing.T, sig os.Signal) result {
	t.Helper()
	if err := f.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the fake did not stop\n--- stderr\n%s", f.stderr.String())
	}
	return result{code: f.cmd.ProcessState.ExitCode(), stdout: f.stdout.String(), stderr: f.stderr.String()}
}

// control sends a request to the fake's control API and decodes the answer.
func (f *fakeProcess) control(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, f.env[envFakeURL]+dynamotest.ControlPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return m
}

// fakeRequest is a request as the control API lists it.
type fakeRequest struct {
	Method    string         `json:"method"`
	Path      string         `json:"path"`
	HasAPIKey bool           `json:"hasAPIKey"`
	Status    int            `json:"status"`
	JSON      map[string]any `json:"json"`
}

// requests lists what the fake received on its API host, or on its storage host.
func (f *fakeProcess) requests(t *testing.T, storage bool) []fakeRequest {
	t.Helper()
	path := "requests"
	if storage {
		path = "storage-requests"
	}
	raw, _ := json.Marshal(f.control(t, "GET", path, "")["requests"])
	var out []fakeRequest
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantRequests fails unless the requests the fake received since it had seen
// `since` are want, as "METHOD path status", in any order (a command may send
// some at once).
func wantRequests(t *testing.T, got []fakeRequest, since int, want ...string) {
	t.Helper()
	var lines []string
	for _, r := range got[since:] {
		lines = append(lines, r.Method+" "+r.Path+" "+itoa(r.Status))
		if !r.HasAPIKey {
			t.Errorf("%s %s arrived without the API key", r.Method, r.Path)
		}
	}
	want = slices.Sorted(slices.Values(want))
	slices.Sort(lines)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("the fake received:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestFakeProcessServesTheTool(t *testing.T) {
	fake := startFakeProcess(t)
	env := fake.env

	// post: one POST /v1/batch, the batch as posted, with a session of the
	// fake login host (the printed client credentials set).
	r := startTool(t, env, "--json", "post", "--template", "T", "--id", "001", "--id", "002", "--param", "locale=fi-FI").wait(t)
	wantCode(t, r, exitOK)
	var out postJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("post's output: %v\n%s", err, r)
	}
	reqs := fake.requests(t, false)
	wantRequests(t, reqs, 0, "POST /v1/batch 202")
	posted, _ := json.Marshal(reqs[0].JSON)
	// The variables printed include the fake login host's client
	// credentials app: the post carries a session minted there.
	if want := `{"integration":{"serverURL":"` + env[envSFLoginURL] + `","sessionID":"[redacted]","type":"Salesforce"},` +
		`"tasks":[{"params":{"id":"001","locale":"fi-FI"}},{"params":{"id":"002","locale":"fi-FI"}}],"template":"T"}`; string(posted) != want {
		t.Errorf("the fake received %s, want %s", posted, want)
	}

	// status, in another process: the fake kept the batch.
	r = startTool(t, env, "status", out.ID).wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "Waiting", "0/2 tasks completed")
	wantRequests(t, fake.requests(t, false), 1, "GET /v1/batch/"+out.ID+" 200")

	// wait: it sees the batch queued, then completed through the control API.
	w := startTool(t, env, "wait", out.ID)
	w.stderr.waitFor(t, "0/2 tasks completed")
	for i, id := range out.Tasks {
		task := fake.control(t, "POST", "batches/"+out.ID+"/tasks/"+id+"/complete",
			`{"results": [{"id": "Profile", "content": "profile of 00`+itoa(i+1)+`"}]}`)
		if task["stage"] != "done" {
			t.Fatalf("task %s after complete: %v", id, task)
		}
	}
	r = w.wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "batch "+out.ID+": Completed (2/2 tasks completed)")
	reqs = fake.requests(t, false)
	last := reqs[len(reqs)-1]
	if last.Method != "GET" || last.Path != "/v1/batch/"+out.ID || last.Status != 200 || len(reqs) < 4 {
		t.Errorf("wait's requests: %+v", reqs[2:])
	}

	// results: one status read a task, one download a file, without the key.
	dir := t.TempDir()
	before := len(reqs)
	r = startTool(t, env, "results", out.ID, "--out", dir).wait(t)
	wantCode(t, r, exitOK)
	wantRequests(t, fake.requests(t, false), before,
		"GET /v1/batch/"+out.ID+" 200",
		"GET /v1/batch/"+out.ID+"/"+out.Tasks[0]+" 200",
		"GET /v1/batch/"+out.ID+"/"+out.Tasks[1]+" 200")
	for i, id := range out.Tasks {
		b, err := os.ReadFile(filepath.Join(dir, id, "Profile"))
		if err != nil || string(b) != "profile of 00"+itoa(i+1) {
			t.Errorf("result of task %s: %q, %v", id, b, err)
		}
	}
	downloads := fake.requests(t, true)
	if len(downloads) != 2 {
		t.Fatalf("%d downloads, want 2: %+v", len(downloads), downloads)
	}
	for _, d := range downloads {
		if d.Method != "GET" || d.Status != 200 || d.HasAPIKey {
			t.Errorf("download %+v: want a GET answered 200, without the API key", d)
		}
	}

	// --fake finds the running fake through the printed variables.
	r = startTool(t, env, "--fake", "status", out.ID, out.Tasks[0]).wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "dynamo: --fake: using the dynamo fake at "+env[envFakeURL])
	wantContains(t, "stdout", r.stdout, "Profile")

	r = fake.stop(t, syscall.SIGTERM)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "dynamo fake: stopped")

	// Once it has stopped, --fake says so rather than starting another.
	r = startTool(t, env, "--fake", "status", out.ID).wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "no dynamo fake answers there", "start 'dynamo fake'")
}

func TestFakeProcessTaskAPI(t *testing.T) {
	fake := startFakeProcess(t, "--api-term-max", "50")
	r := startTool(t, fake.env, "--json", "task", "post", "--template", "T", "--param", "id=001").wait(t)
	wantCode(t, r, exitOK)
	var out struct {
		TaskID string `json:"taskID"`
		Usage  struct {
			API struct{ Term, TermMax int } `json:"api"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.TaskID == "" {
		t.Fatalf("task post's output: %v\n%s", err, r)
	}
	if out.Usage.API.TermMax != 50 || out.Usage.API.Term != 1 {
		t.Errorf("usage %+v, want 1 of 50 (--api-term-max)", out.Usage.API)
	}
	fake.control(t, "POST", "tasks/"+out.TaskID+"/fail", `{"message": "INVALID_SESSION_ID"}`)
	r = startTool(t, fake.env, "task", "status", out.TaskID).wait(t)
	wantCode(t, r, exitTaskErrors)
	wantContains(t, "stdout", r.stdout, "INVALID_SESSION_ID")
	wantRequests(t, fake.requests(t, false), 0, "POST /v1/task 202", "GET /v1/task/"+out.TaskID+" 200")
}

// The fake stops cleanly on either signal, at once, with exit code 0.
func TestFakeProcessStopsOnInterrupt(t *testing.T) {
	fake := startFakeProcess(t, "--auto-complete", "1s")
	r := fake.stop(t, os.Interrupt)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "tasks complete on their own after 1s", "dynamo fake: stopped")
	if _, err := http.Get(fake.env[envFakeURL] + dynamotest.ControlPrefix + "clock"); err == nil {
		t.Error("the fake still answers after it stopped")
	}
}

func TestFakeProcessRefusesBadFlags(t *testing.T) {
	busy := startFakeProcess(t)
	addr := strings.TrimPrefix(busy.env[envFakeURL], "http://")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--addr", addr}, exitFailed, "--addr " + addr},
		{[]string{"--auto-complete", "-1s"}, exitUsage, "--auto-complete must not be negative"},
		{[]string{"--tenant-id", "a b"}, exitUsage, "--tenant-id: must be non-empty"},
		{[]string{"--result-files", "A,A"}, exitUsage, "IDs must be non-empty and distinct"},
		{[]string{"extra"}, exitUsage, "unknown command"},
	} {
		r := startTool(t, nil, append([]string{"fake"}, tc.args...)...).wait(t)
		wantCode(t, r, tc.code)
		wantContains(t, "stderr", r.stderr, tc.want)
	}
}

// With --check-sessions, a task whose session the fake login host issued
// completes (given as a fixed session, or minted by the tool from the printed
// client credentials set), and one with a session it never issued fails as
// Dynamo fails it.
func TestFakeProcessChecksSessions(t *testing.T) {
	fake := startFakeProcess(t, "--check-sessions")
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fake.env[envSFClientID]}, "client_secret": {fake.env[envSFClientSecret]}}
	resp, err := http.PostForm(fake.env[envSFLoginURL]+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || token.AccessToken == "" {
		t.Fatalf("token: %s, %v, %+v", resp.Status, err, token)
	}

	stage := make(map[string]any)
	for name, session := range map[string]string{"issued": token.AccessToken, "made up": "00D000000000001!made-up", "minted": ""} {
		env := maps.Clone(fake.env)
		if session != "" { // a fixed session, instead of the client credentials set
			delete(env, envSFClientID)
			delete(env, envSFClientSecret)
			delete(env, envSFLoginURL)
			env["DYNAMO_SF_SESSION_ID"], env["DYNAMO_SF_SERVER_URL"] = session, token.InstanceURL
		}
		r := startTool(t, env, "--json", "post", "--template", "T", "--id", "001").wait(t)
		wantCode(t, r, exitOK)
		var out postJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, r)
		}
		task := fake.control(t, "POST", "batches/"+out.ID+"/tasks/"+out.Tasks[0]+"/complete", "")
		stage[name] = task["stage"]
		if name == "made up" && task["statusMessage"] != "INVALID_SESSION_ID: Session expired or invalid" {
			t.Errorf("the task with a made-up session: %v", task)
		}
	}
	if stage["issued"] != "done" || stage["minted"] != "done" || stage["made up"] != "failed" {
		t.Errorf("stages %v: want the issued and minted sessions' tasks done, the made-up one's failed", stage)
	}
	if strings.Contains(fake.stdout.String()+fake.stderr.String(), token.AccessToken) {
		t.Error("the fake printed a session")
	}
}
