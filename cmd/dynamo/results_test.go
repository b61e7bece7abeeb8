package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestResults(t *testing.T) {
	t.Parallel()
	// A delay of 1ns: the tasks are complete, with their files, when the
	// batch is first read.
	_, env := newServer(t, dynamotest.WithAutoComplete(time.Nanosecond), dynamotest.WithResultFiles("Profile", "Invoice.pdf"))
	out := post(t, env, "--id", "1", "--id", "2")

	dir := filepath.Join(t.TempDir(), "out")
	r := runWith(t, env, "results", out.ID, "--out", dir)
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "4 files downloaded")
	for _, task := range out.Tasks {
		for _, id := range []string{"Profile", "Invoice.pdf"} {
			got, err := os.ReadFile(filepath.Join(dir, task, id))
			if err != nil {
				t.Fatal(err)
			}
			if want := "result " + id + " of task " + task; string(got) != want {
				t.Errorf("%s/%s holds %q, want %q", task, id, got, want)
			}
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", "*.part"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Again with --json, over the files already there.
	r = runWith(t, env, "--json", "results", out.ID, "--out", dir)
	wantCode(t, r, exitOK)
	var res struct {
		Batch       string `json:"batch"`
		Tasks       int    `json:"tasks"`
		FailedFiles int    `json:"failedFiles"`
		Files       []struct {
			Task, Result, Path string
			Bytes              int64
		} `json:"files"`
	}
	decodeJSON(t, r, &res)
	if res.Batch != out.ID || res.Tasks != 2 || res.FailedFiles != 0 || len(res.Files) != 4 || res.Files[0].Bytes == 0 {
		t.Errorf("results %+v", res)
	}
}

func TestResultsRefusesUnsafeNames(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1")
	srv.CompleteBatchTask(out.ID, out.Tasks[0],
		dynamotest.ResultFile{ID: "../../escaped", Content: []byte("x")},
		dynamotest.ResultFile{ID: "..", Content: []byte("x")},
		dynamotest.ResultFile{ID: "a\\b", Content: []byte("x")},
		dynamotest.ResultFile{ID: "bell\a", Content: []byte("x")},
		dynamotest.ResultFile{ID: "Profile", Content: []byte("ok")},
	)
	base := t.TempDir()
	dir := filepath.Join(base, "out")
	r := runWith(t, env, "results", out.ID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "4 of 5 result files could not be downloaded", "path separator", "refused as a file name", "control character")
	if got, err := os.ReadFile(filepath.Join(dir, out.Tasks[0], "Profile")); err != nil || string(got) != "ok" {
		t.Errorf("the safe result: %q, %v", got, err)
	}
	var files []string
	filepath.Walk(base, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 1 {
		t.Errorf("files written: %v, want only the safe result", files)
	}
}

func TestResultsIncompleteAndFailedTasks(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1", "--id", "2")
	srv.FailBatchTask(out.ID, out.Tasks[0], "boom")
	dir := t.TempDir()
	r := runWith(t, env, "results", out.ID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "1 of 2 tasks have not completed yet", "dynamo wait "+out.ID)

	srv.CompleteBatchTask(out.ID, out.Tasks[1], dynamotest.ResultFile{ID: "Profile", Content: []byte("ok")})
	r = runWith(t, env, "results", out.ID, "--out", dir)
	wantCode(t, r, exitTaskErrors)
	wantContains(t, "stdout", r.stdout, "1 files downloaded", "1 of 2 tasks had errors")
}

func TestResultsDownloadFails(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	out := post(t, env, "--id", "1")
	srv.CompleteBatchTask(out.ID, out.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("ok")})
	srv.Inject(dynamotest.RouteDownload, dynamotest.Fault{Status: 403, Body: "expired"})
	dir := t.TempDir()
	r := runWith(t, env, "results", out.ID, "--out", dir)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "403", "1 of 1 result files could not be downloaded",
		"the storage host refused the URL: result URLs are valid about an hour")
	if strings.Contains(r.stderr, "DYNAMO_API_KEY") {
		t.Errorf("an expired URL is not the API key's fault:\n%s", r.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, out.Tasks[0])); len(entries) != 0 {
		t.Errorf("a failed download left %v", entries)
	}
}

func TestResultsUnknownBatch(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	r := runWith(t, env, "results", "nope", "--out", t.TempDir())
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "batch nope", "404")
}
