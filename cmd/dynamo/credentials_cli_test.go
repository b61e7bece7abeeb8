//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Salesforce CLI's answers, in their current form: org display redacts
// the access token, org auth show-access-token gives it.
const (
	cliOrg         = "00D000000000001AAA"
	cliInstanceURL = "https://acme.my.salesforce.com"
	cliToken       = "00D000000000001!cli-access-token-9e8d7c6b5a"
	cliDisplay     = `{"status":0,"result":{"id":"` + cliOrg + `","apiVersion":"62.0","accessToken":"[REDACTED]","instanceUrl":"` + cliInstanceURL + `","username":"dev@example.com","clientId":"PlatformCLI","connectedStatus":"Connected","alias":"my-org"},"warnings":["This command will expose sensitive information..."]}`
	cliShowToken   = `{"status":0,"result":{"accessToken":"` + cliToken + `","instanceUrl":"` + cliInstanceURL + `","username":"dev@example.com"},"warnings":[]}`
)

// stubSFAnswers writes an executable sf into a new directory that answers org
// display and org auth show-access-token with display and token, and
// records its arguments; it returns the PATH that puts it first and the
// file of its calls, one line each.
func stubSFAnswers(t *testing.T, display, token string) (path, calls string) {
	t.Helper()
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
case "$1 $2 $3" in
"org display "*) printf '%%s\n' '%s' ;;
"org auth show-access-token") printf '%%s\n' '%s' ;;
*) printf '%%s\n' '{"status":1,"name":"UnknownCommand","message":"unknown command"}'; exit 1 ;;
esac
`, calls, display, token)
	if err := os.WriteFile(filepath.Join(dir, "sf"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), calls
}

// TestSalesforceCLIProcess runs the tool as a process with a stub sf first
// on PATH: the posts carry the token of show-access-token (never the
// redacted one of org display), on the instance org display names, with
// the org from DYNAMO_SF_ORG or --sf-org.
func TestSalesforceCLIProcess(t *testing.T) {
	path, calls := stubSFAnswers(t, cliDisplay, cliShowToken)
	f := newFake(t)
	var scan secretScan
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"DYNAMO_SF_ORG", map[string]string{"DYNAMO_SF_ORG": "my-org"}, []string{"--json", "post", "--template", "T", "--id", "001A"}},
		{"--sf-org", nil, []string{"--json", "post", "--template", "T", "--id", "001A", "--sf-org", "my-org"}},
		{"task post", map[string]string{"DYNAMO_SF_ORG": "my-org"}, []string{"--json", "task", "post", "--template", "T", "--param", "id=001B"}},
		{"bulk", map[string]string{"DYNAMO_SF_ORG": "my-org"}, []string{"--json", "bulk", "--template", "T", "--csv", writeFile(t, "r.csv", records(2)), "--chunk-size", "1", "--no-wait"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.srv.Requests())
			r := scan.add(startTool(t, with(f.env, tc.env, map[string]string{"PATH": path}), append([]string{"--verbose"}, tc.args...)...).wait(t))
			wantCode(t, r, exitOK)
			reqs := f.srv.Requests()[before:]
			if len(reqs) == 0 {
				t.Fatal("nothing was posted")
			}
			for _, b := range f.srv.Batches() {
				if b.Integration["sessionID"] != cliToken || b.Integration["serverURL"] != cliInstanceURL {
					t.Errorf("batch %s: integration %v, want the CLI's token on its instance", b.ID, b.Integration)
				}
			}
			for _, st := range f.srv.Tasks() {
				if st.Integration["sessionID"] != cliToken || st.Integration["serverURL"] != cliInstanceURL {
					t.Errorf("task %s: integration %v, want the CLI's token on its instance", st.ID, st.Integration)
				}
			}
		})
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(got)), "\n") {
		if !strings.Contains(line, "--target-org my-org") {
			t.Errorf("sf was run as %q, without the org", line)
		}
	}
	scan.check(t, "", cliToken)
}

// TestSalesforceCLIFailsProcess runs the tool with a CLI that knows no such
// org: exit 1 with the CLI's message, nothing posted.
func TestSalesforceCLIFailsProcess(t *testing.T) {
	noAuth := `{"status":1,"name":"NoAuthInfoFound","message":"No authorization information found for nope.","exitCode":1}`
	path, _ := stubSFAnswers(t, noAuth, noAuth)
	srv, env := newServer(t)
	r := startTool(t, with(env, map[string]string{"PATH": path}), "post", "--template", "T", "--id", "001", "--sf-org", "nope").wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "NoAuthInfoFound", "No authorization information found for nope.", "nothing was posted")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached Dynamo", n)
	}
}

// TestAuthCLIProcess runs 'dynamo auth' as a process with a stub sf first
// on PATH: it names the CLI's org, user and instance, never the token; a
// CLI org other than the tenant exits 2, and nothing is posted.
func TestAuthCLIProcess(t *testing.T) {
	path, _ := stubSFAnswers(t, cliDisplay, cliShowToken)
	srv, env := newServer(t)
	var scan secretScan
	r := scan.add(startTool(t, with(env, map[string]string{"PATH": path}), "auth", "--sf-org", "my-org").wait(t))
	wantCode(t, r, exitOK)
	wantContains(t, "stdout", r.stdout, "Salesforce CLI (DYNAMO_SF_ORG or --sf-org)", "CLI org:       my-org", "org ID:        "+cliOrg,
		"user:          dev@example.com", "instance URL:  "+cliInstanceURL, "(the session's org)")

	const other = "00D000000000002AAA"
	otherPath, _ := stubSFAnswers(t, strings.ReplaceAll(cliDisplay, cliOrg, other), strings.ReplaceAll(cliShowToken, cliOrg[:15], other[:15]))
	for _, args := range [][]string{
		{"auth"},
		{"post", "--template", "T", "--id", "001"},
		{"task", "post", "--template", "T", "--param", "id=001"},
	} {
		r := scan.add(startTool(t, with(env, map[string]string{"PATH": otherPath, "DYNAMO_SF_ORG": "other-org"}), args...).wait(t))
		wantCode(t, r, exitUsage)
		wantContains(t, "stderr", r.stderr, other, env["DYNAMO_TENANT_ID"])
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached Dynamo", n)
	}
	scan.check(t, "", cliToken, strings.ReplaceAll(cliToken, cliOrg[:15], other[:15]))
}

// TestAuthRunningFakeProcess exports what 'dynamo fake' prints and runs
// 'dynamo auth', with and without --fake: the session comes from the fake
// login host's client credentials app, of the tenant's org, and no secret
// is printed.
func TestAuthRunningFakeProcess(t *testing.T) {
	fake := startFakeProcess(t)
	var scan secretScan
	for _, args := range [][]string{{"auth"}, {"--fake", "auth"}} {
		r := scan.add(startTool(t, fake.env, args...).wait(t))
		wantCode(t, r, exitOK)
		wantContains(t, "stdout", r.stdout, "client credentials (DYNAMO_SF_CLIENT_ID", "login URL:     "+fake.env[envSFLoginURL],
			"tenant:        "+fake.env["DYNAMO_TENANT_ID"]+" (the session's org)")
	}
	scan.check(t, "", fake.env[envSFClientSecret], fake.env["DYNAMO_API_KEY"])
}
