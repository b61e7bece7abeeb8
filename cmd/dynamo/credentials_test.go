package main

import (
	"strings"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// wantSession fails unless integration carries a session that sf issued
// through clientID for username, on sf's instance.
func wantSession(t *testing.T, s *testSalesforce, integration map[string]any, clientID, username string) string {
	t.Helper()
	id, _ := integration["sessionID"].(string)
	got, ok := s.sf.Session(id)
	switch {
	case !ok:
		t.Fatalf("the post carried a session the login host did not issue (integration %v)", integration)
	case got.ClientID != clientID || got.Username != username:
		t.Errorf("session of app %s for %s, want app %s for %s", got.ClientID, got.Username, clientID, username)
	}
	if integration["serverURL"] != s.sf.URL || integration["type"] != "Salesforce" {
		t.Errorf("integration type %v, server %v; want Salesforce on %s", integration["type"], integration["serverURL"], s.sf.URL)
	}
	return id
}

// TestSalesforceChainPosts posts a batch, a task and a bulk job with each
// set of the chain that mints sessions, against the fake login host, and
// checks that every post carried a session it issued (or the fixed one).
func TestSalesforceChainPosts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set, clientID, username string
	}{
		{"fixed", "", ""},
		{"jwt", jwtClientID, jwtUsername},
		{"cc", ccClientID, ccRunAs},
	} {
		t.Run(tc.set, func(t *testing.T) {
			t.Parallel()
			s := newSalesforce(t)
			var f *testFake
			if tc.set == "fixed" {
				f = newFake(t) // the fake login host did not issue the fixed session
			} else {
				f = newFake(t, dynamotest.WithSalesforce(s.sf))
			}
			env := with(f.env, s.set(tc.set))
			var scan secretScan
			var sessions []string
			check := func(integration map[string]any) {
				t.Helper()
				if tc.set == "fixed" {
					if integration["sessionID"] != fixedSession || integration["serverURL"] != "https://acme.my.salesforce.com" {
						t.Errorf("integration %v, want the fixed session", integration)
					}
					return
				}
				sessions = append(sessions, wantSession(t, s, integration, tc.clientID, tc.username))
			}

			r := scan.add(runWith(t, env, "--verbose", "--json", "post", "--template", "T", "--id", "001A"))
			wantCode(t, r, exitOK)
			var out postJSON
			decodeJSON(t, r, &out)
			b, ok := f.srv.Batch(out.ID)
			if !ok {
				t.Fatalf("batch %s not posted\n%s", out.ID, r)
			}
			check(b.Integration)

			r = scan.add(runWith(t, env, "--verbose", "--json", "task", "post", "--template", "T", "--param", "id=001B"))
			wantCode(t, r, exitOK)
			var task taskPostJSON
			decodeJSON(t, r, &task)
			st, ok := f.srv.Task(task.TaskID)
			if !ok {
				t.Fatalf("task %s not posted\n%s", task.TaskID, r)
			}
			check(st.Integration)

			// A bulk job, one chunk at a time, whose sessions are renewed at
			// once: every chunk asks the source, and gets a session of its
			// own.
			csv := writeFile(t, "records.csv", records(3))
			before := s.sf.TokenRequests()
			r = scan.add(runWith(t, with(env, map[string]string{"DYNAMO_SF_SESSION_MAX_AGE": "1ns"}),
				"--verbose", "--json", "bulk", "--template", "T", "--csv", csv, "--chunk-size", "1", "--concurrency", "1", "--no-wait"))
			wantCode(t, r, exitOK)
			var rep bulkJSON
			decodeJSON(t, r, &rep)
			wantCounts(t, rep, map[string]int{"accepted": 3})
			seen := map[string]bool{}
			for _, ch := range rep.Chunks {
				b, ok := f.srv.Batch(ch.BatchID)
				if !ok {
					t.Fatalf("chunk %d: batch %q not posted", ch.Index, ch.BatchID)
				}
				check(b.Integration)
				seen[b.Integration["sessionID"].(string)] = true
			}
			if tc.set != "fixed" {
				// One session for the check before posting, one per chunk.
				if got := s.sf.TokenRequests() - before; got != 4 {
					t.Errorf("the bulk job made %d token requests, want 4: the org check, then one per chunk", got)
				}
				if len(seen) != 3 {
					t.Errorf("3 chunks carried %d sessions, want a fresh one each", len(seen))
				}
			}
			scan.check(t, s.keyPEM, sessions...)
		})
	}
}

// TestSalesforceChainSessionReused checks that without a maximum age a
// command mints once: the org check's session is the first post's.
func TestSalesforceChainSessionReused(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	f := newFake(t, dynamotest.WithSalesforce(s.sf))
	csv := writeFile(t, "records.csv", records(4))
	r := runWith(t, with(f.env, s.set("jwt")), "--json", "bulk", "--template", "T", "--csv", csv, "--chunk-size", "1", "--no-wait")
	wantCode(t, r, exitOK)
	if n := s.sf.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 within the maximum age", n)
	}
}

// TestSalesforceChainUsage gives sets with a variable missing, and two sets
// at once: exit 2 naming the variables, before any request to Dynamo or to
// the login host.
func TestSalesforceChainUsage(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	srv, env := newServer(t)
	drop := func(set map[string]string, names ...string) map[string]string {
		out := with(set)
		for _, n := range names {
			delete(out, n)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		set   map[string]string
		flags []string
		want  []string
	}{
		{"session without server", drop(s.set("fixed"), "DYNAMO_SF_SERVER_URL"), nil, []string{"DYNAMO_SF_SERVER_URL"}},
		{"server without session", drop(s.set("fixed"), "DYNAMO_SF_SESSION_ID"), nil, []string{"DYNAMO_SF_SESSION_ID"}},
		{"jwt without key", drop(s.set("jwt"), "DYNAMO_SF_JWT_KEY_FILE"), nil, []string{"DYNAMO_SF_JWT_KEY_FILE"}},
		{"jwt without user", drop(s.set("jwt"), "DYNAMO_SF_USERNAME"), nil, []string{"DYNAMO_SF_USERNAME"}},
		{"jwt without client", drop(s.set("jwt"), "DYNAMO_SF_CLIENT_ID"), nil, []string{"DYNAMO_SF_CLIENT_ID"}},
		{"jwt key file missing", with(s.set("jwt"), map[string]string{"DYNAMO_SF_JWT_KEY_FILE": "nope.pem"}), nil, []string{"DYNAMO_SF_JWT_KEY_FILE", "nope.pem"}},
		{"cc without login URL", drop(s.set("cc"), "DYNAMO_SF_LOGIN_URL"), nil, []string{"DYNAMO_SF_LOGIN_URL"}},
		{"cc without client", drop(s.set("cc"), "DYNAMO_SF_CLIENT_ID"), nil, []string{"DYNAMO_SF_CLIENT_ID"}},
		{"client ID alone", map[string]string{"DYNAMO_SF_CLIENT_ID": jwtClientID}, nil, []string{"DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{"fixed and jwt", with(s.set("fixed"), s.set("jwt")), nil, []string{"DYNAMO_SF_SESSION_ID", "DYNAMO_SF_JWT_KEY_FILE"}},
		{"jwt and cc", with(s.set("jwt"), map[string]string{"DYNAMO_SF_CLIENT_SECRET": ccSecret}), nil, []string{"DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{"cc and org", with(s.set("cc"), map[string]string{"DYNAMO_SF_ORG": "my-org"}), nil, []string{"DYNAMO_SF_CLIENT_SECRET", "DYNAMO_SF_ORG"}},
		{"fixed and --sf-org", s.set("fixed"), []string{"--sf-org", "my-org"}, []string{"DYNAMO_SF_SESSION_ID", "DYNAMO_SF_ORG", "--sf-org"}},
		{"bad max age", with(s.set("jwt"), map[string]string{"DYNAMO_SF_SESSION_MAX_AGE": "ten minutes"}), nil, []string{"DYNAMO_SF_SESSION_MAX_AGE", "ten minutes"}},
		{"http login URL", with(s.set("cc"), map[string]string{"DYNAMO_SF_LOGIN_URL": "http://acme.my.salesforce.com"}), nil, []string{"plain http"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{
				{"post", "--template", "T", "--id", "001"},
				{"task", "post", "--template", "T", "--param", "id=001"},
				{"bulk", "--template", "T", "--csv", writeFile(t, "r.csv", records(2))},
			} {
				r := runWith(t, with(env, tc.set), append(cmd, tc.flags...)...)
				wantCode(t, r, exitUsage)
				wantContains(t, "stderr", r.stderr, tc.want...)
				if strings.Contains(r.stderr, ccSecret) {
					t.Errorf("stderr shows the client secret:\n%s", r.stderr)
				}
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("bad credentials sent %d requests to Dynamo", n)
	}
	if n := s.sf.TokenRequests(); n != 0 {
		t.Errorf("bad credentials made %d token requests", n)
	}
}

// TestSalesforceOrgMismatch gives a session of another org than the
// tenant: every posting command exits 2, naming both orgs, and nothing
// reaches Dynamo.
func TestSalesforceOrgMismatch(t *testing.T) {
	t.Parallel()
	const other = "00D000000000002AAA"
	s := newSalesforce(t, dynamotest.WithOrgID(other))
	srv, env := newServer(t)
	var scan secretScan
	sets := map[string]map[string]string{
		"jwt":   s.set("jwt"),
		"cc":    s.set("cc"),
		"fixed": {"DYNAMO_SF_SESSION_ID": other[:15] + "!other-org-session", "DYNAMO_SF_SERVER_URL": "https://other.my.salesforce.com"},
	}
	for name, set := range sets {
		for _, cmd := range [][]string{
			{"post", "--template", "T", "--id", "001"},
			{"task", "post", "--template", "T", "--param", "id=001"},
			{"bulk", "--template", "T", "--csv", writeFile(t, "r.csv", records(2))},
		} {
			r := scan.add(runWith(t, with(env, set), cmd...))
			if r.code != exitUsage {
				t.Errorf("%s %v: exit %d, want %d\n%s", name, cmd, r.code, exitUsage, r)
				continue
			}
			wantContains(t, "stderr", r.stderr, other[:15], srv.TenantID, "DYNAMO_TENANT_ID", "nothing was posted")
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("a session of another org sent %d requests to Dynamo", n)
	}
	scan.check(t, s.keyPEM, other[:15]+"!other-org-session")
}

// TestSalesforceTokenRefused makes the login host refuse the user:
// invalid_grant, exit 1 with Salesforce's error and description, nothing
// posted.
func TestSalesforceTokenRefused(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	s.sf.RefuseUser(jwtUsername)
	srv, env := newServer(t)
	var scan secretScan
	for _, cmd := range [][]string{
		{"post", "--template", "T", "--id", "001"},
		{"task", "post", "--template", "T", "--param", "id=001"},
		{"bulk", "--template", "T", "--csv", writeFile(t, "r.csv", records(2))},
	} {
		r := scan.add(runWith(t, with(env, s.set("jwt")), append([]string{"--verbose"}, cmd...)...))
		wantCode(t, r, exitFailed)
		wantContains(t, "stderr", r.stderr, "invalid_grant", "user hasn't approved this consumer", "nothing was posted")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("a refused session sent %d requests to Dynamo", n)
	}
	scan.check(t, s.keyPEM)
}

// TestSalesforceCredentialsWithFake checks that --fake reads no Salesforce
// credentials: nothing leaves the machine.
func TestSalesforceCredentialsWithFake(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	r := runWith(t, s.set("jwt"), "--fake", "--fake-delay=1ns", "post", "--template", "T", "--id", "1", "--wait")
	wantCode(t, r, exitOK)
	wantContains(t, "stderr", r.stderr, "the Salesforce credentials are not used")
	if n := s.sf.TokenRequests(); n != 0 {
		t.Errorf("--fake made %d token requests", n)
	}
}

// TestSalesforceSessionAfterChecks checks that the session is had last:
// bad input or missing API credentials end the command before any token
// request.
func TestSalesforceSessionAfterChecks(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	srv, env := newServer(t)
	noKey := with(env, s.set("jwt"))
	delete(noKey, "DYNAMO_API_KEY")
	bad := writeFile(t, "bad.csv", "name\nx\n")
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{noKey, []string{"post", "--template", "T", "--id", "001"}, "DYNAMO_API_KEY"},
		{noKey, []string{"task", "post", "--template", "T", "--param", "id=001"}, "DYNAMO_API_KEY"},
		{noKey, []string{"bulk", "--template", "T", "--csv", writeFile(t, "r.csv", records(2))}, "DYNAMO_API_KEY"},
		{with(env, s.set("jwt")), []string{"post", "--template", "T", "--csv", bad}, "id"},
		{with(env, s.set("jwt")), []string{"bulk", "--template", "T", "--csv", bad}, "id"},
		{with(env, s.set("jwt")), []string{"task", "post", "--dap", "nope.dap", "--param", "id=001"}, "nope.dap"},
	} {
		r := runWith(t, tc.env, tc.args...)
		wantCode(t, r, exitUsage)
		wantContains(t, "stderr", r.stderr, tc.want)
	}
	if n := s.sf.TokenRequests(); n != 0 {
		t.Errorf("%d token requests before the input was checked", n)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached Dynamo", n)
	}
}
