package main

import (
	"encoding/json"
	"net/http"
	"os"
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
