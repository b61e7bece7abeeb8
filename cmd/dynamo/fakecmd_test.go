package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// "dynamo fake --json" prints the variables as one JSON object, serves until
// the first interrupt, and then no longer answers.
func TestFakeJSON(t *testing.T) {
	t.Parallel()
	inv := startWith(t, nil, "--json", "fake", "--result-files", "Profile,Summary")
	inv.stderr.waitFor(t, "dynamo fake: state is kept until it stops")
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "dynamo fake: stopped")
	var vars map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &vars); err != nil {
		t.Fatalf("stdout: %v\n%s", err, r)
	}
	for _, k := range []string{"DYNAMO_BASE_URL", "DYNAMO_TENANT_ID", "DYNAMO_API_KEY", envFakeURL, envSFLoginURL, envSFClientID, envSFClientSecret} {
		if vars[k] == "" {
			t.Errorf("%s missing from %v", k, vars)
		}
	}
	if vars["DYNAMO_TENANT_ID"] != fakeTenantID || len(vars["DYNAMO_API_KEY"]) != 32 {
		t.Errorf("credentials %q, %q: want the default tenant and a made-up key", vars["DYNAMO_TENANT_ID"], vars["DYNAMO_API_KEY"])
	}
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	if _, err := hc.Get(vars[envFakeURL] + dynamotest.ControlPrefix + "clock"); err == nil {
		t.Error("the fake still answers after it stopped")
	}
}

// The lines "dynamo fake" prints, read by a shell, set each variable to its
// value, whatever characters an --api-key or --tenant-id given holds.
func TestFakeExportsReadByAShell(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	const key = `k$ey;x&y|z"w\v*` + "`id`"
	const tenant = "acme$HOME"
	inv := startWith(t, nil, "fake", "--api-key", key, "--tenant-id", tenant)
	inv.stderr.waitFor(t, "dynamo fake: state is kept until it stops")
	inv.signals <- os.Interrupt
	r := inv.wait(t)
	wantCode(t, r, exitOK)
	file := filepath.Join(t.TempDir(), "fake.env")
	if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sh, "-c", `. "$1" && printf '%s\n%s\n' "$DYNAMO_API_KEY" "$DYNAMO_TENANT_ID"`, "sh", file).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s\nstdout:\n%s", err, out, r.stdout)
	}
	if want := key + "\n" + tenant + "\n"; string(out) != want {
		t.Errorf("the shell read %q, want %q; the lines:\n%s", out, want, r.stdout)
	}
}
