package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// postJSON is post's --json output.
type postJSON struct {
	ID           string   `json:"id"`
	Tasks        []string `json:"tasks"`
	Message      string   `json:"message"`
	LicenseUsage int      `json:"licenseUsage"`
	Status       *struct {
		Completed     bool   `json:"completed"`
		Errors        bool   `json:"errors"`
		StatusMessage string `json:"statusMessage"`
		Tasks         []struct {
			ID        string `json:"id"`
			Completed bool   `json:"completed"`
			Errors    bool   `json:"errors"`
		} `json:"tasks"`
	} `json:"status"`
}

// post posts a batch by reference with --json and returns what it printed.
func post(t *testing.T, env map[string]string, args ...string) postJSON {
	t.Helper()
	r := runWith(t, env, append([]string{"--json", "post", "--template", "T"}, args...)...)
	wantCode(t, r, exitOK)
	var out postJSON
	decodeJSON(t, r, &out)
	return out
}

func TestPostByReference(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	r := runWith(t, env, "post", "--template", "3242374783", "--id", "1111", "--id", "2222", "--param", "locale=fi-FI")
	wantCode(t, r, exitOK)
	batches := srv.Batches()
	if len(batches) != 1 {
		t.Fatalf("%d batches posted, want 1", len(batches))
	}
	b := batches[0]
	if b.Template != "3242374783" || b.Integration != nil || len(b.Tasks) != 2 {
		t.Fatalf("posted %+v", b)
	}
	for i, id := range []string{"1111", "2222"} {
		p := b.Tasks[i].Params
		if p["id"] != id || p["locale"] != "fi-FI" || len(p) != 2 {
			t.Errorf("task %d params %v", i, p)
		}
	}
	wantContains(t, "stdout", r.stdout, "batch "+b.ID+" accepted: 2 tasks", b.Tasks[0].ID, "record 1111")
}

func TestPostCSV(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	csv := writeFile(t, "accounts.csv", "\uFEFFId,name,locale\n001A,\"Acme, Inc.\",fi-FI\n001B,Globex,en-US\n")
	out := post(t, env, "--csv", csv, "--param", "year=2024")
	if len(out.Tasks) != 2 || out.LicenseUsage != 2 || out.Status != nil {
		t.Fatalf("output %+v", out)
	}
	b, _ := srv.Batch(out.ID)
	want := []map[string]any{
		{"id": "001A", "name": "Acme, Inc.", "locale": "fi-FI", "year": "2024"},
		{"id": "001B", "name": "Globex", "locale": "en-US", "year": "2024"},
	}
	for i, task := range b.Tasks {
		got, _ := json.Marshal(task.Params)
		w, _ := json.Marshal(want[i])
		if string(got) != string(w) {
			t.Errorf("task %d params %s, want %s", i, got, w)
		}
	}
}

func TestPostCSVParamConflict(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	csv := writeFile(t, "accounts.csv", "id,locale\n001A,fi-FI\n")
	r := runWith(t, env, "post", "--template", "T", "--csv", csv, "--param", "locale=en-US")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "--param locale", `column "locale"`)
}

func TestPostCSVOverLimit(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	csv := writeFile(t, "accounts.csv", records(1001))
	r := runWith(t, env, "post", "--template", "T", "--csv", csv)
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "accounts.csv:1002: more than 1000 records", "dynamo bulk")
}

func TestPostEmbeddedWithParts(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	dap := writeFile(t, "invoice.dap", strings.Repeat("DAP!", 1000))
	extra := writeFile(t, "extra.json", `{"rates": [1.5, 2]}`)
	r := runWith(t, env, "--json", "post", "--dap", dap, "--id", "1111", "--id", "2222", "--part", "extra="+extra)
	wantCode(t, r, exitOK)
	var out postJSON
	decodeJSON(t, r, &out)
	b, ok := srv.Batch(out.ID)
	if !ok {
		t.Fatalf("batch %s not posted", out.ID)
	}
	if b.Template != "" || b.EmbeddedTemplate == nil || b.EmbeddedTemplate.FileName != "invoice.dap" || b.EmbeddedTemplate.Size != 4000 {
		t.Fatalf("template %q, embedded %+v", b.Template, b.EmbeddedTemplate)
	}
	for _, task := range b.Tasks {
		got, _ := json.Marshal(task.Params["extra"])
		if string(got) != `{"rates":[1.5,2]}` {
			t.Errorf("task %s param extra = %s", task.ID, got)
		}
	}
	reqs := srv.Requests()
	if req := reqs[0]; req.Chunked || req.ContentLength <= 4000 {
		t.Errorf("the post was not sent with its exact length: chunked %v, length %d", req.Chunked, req.ContentLength)
	}
}

func TestPostSalesforceFromEnv(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	env["DYNAMO_SF_SESSION_ID"] = "sess"
	env["DYNAMO_SF_SERVER_URL"] = "https://acme.my.salesforce.com"
	out := post(t, env, "--id", "001")
	b, _ := srv.Batch(out.ID)
	if b.Integration["type"] != "Salesforce" || b.Integration["sessionID"] != "sess" || b.Integration["serverURL"] != "https://acme.my.salesforce.com" {
		t.Errorf("integration %v", b.Integration)
	}
}

func TestPostWait(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.completeOnAccept()
	r := runWith(t, f.env, "--json", "post", "--template", "T", "--id", "1", "--id", "2", "--wait")
	wantCode(t, r, exitOK)
	var out postJSON
	decodeJSON(t, r, &out)
	if out.Status == nil || !out.Status.Completed || out.Status.Errors || len(out.Status.Tasks) != 2 {
		t.Fatalf("status %+v", out.Status)
	}
	// Progress went to stderr as plain lines, stdout holds only the JSON.
	wantContains(t, "stderr", r.stderr, "batch "+out.ID+": 2/2 tasks completed")
}

func TestPostFakeWait(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "--fake", "--fake-delay=1ns", "post", "--template", "T", "--id", "1", "--wait")
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "accepted: 1 task,", "Completed (1/1 tasks completed)")
	wantContains(t, "stderr", r.stderr, "--fake: using an in-process fake server")
}

func TestPostRefused(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 400, Body: `{"message": "no such template"}`})
	r := runWith(t, env, "post", "--template", "T", "--id", "1")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "posting the batch", "400", "no such template")
}

func TestPostOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropAfterAccept: true})
	r := runWith(t, env, "post", "--template", "T", "--id", "1")
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "may have been created")
	if n := len(srv.Batches()); n != 1 {
		t.Errorf("%d batches, want the one the lost answer created", n)
	}
}
