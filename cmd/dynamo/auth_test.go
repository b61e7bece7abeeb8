package main

import (
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// authJSON is auth's --json output.
type authJSON struct {
	Origin, Variables, Where string
	OrgID, UserID, Username  string
	InstanceURL, TenantID    string
	OrgMatchesTenant         *bool
	MaxAge                   string
}

// TestAuth asks for a session with each set of the chain that the fake
// login host serves, and checks what auth prints, in words and as JSON.
func TestAuth(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	_, env := newServer(t)
	var scan secretScan
	for _, tc := range []struct {
		set      string
		origin   string
		user     string
		where    string
		maxAge   string
		extra    map[string]string
		wantText []string
	}{
		{"fixed", "fixed session", "", "", "", nil, []string{"fixed session (DYNAMO_SF_SESSION_ID, DYNAMO_SF_SERVER_URL)", "org ID:        00D000000000001", "user:          (unknown)\n", "instance URL:  https://acme.my.salesforce.com", "never"}},
		{"jwt", "JWT bearer", jwtUsername, s.sf.URL, "10m0s", nil, []string{"JWT bearer (DYNAMO_SF_CLIENT_ID, DYNAMO_SF_USERNAME, DYNAMO_SF_JWT_KEY_FILE)", "login URL:     " + s.sf.URL, "org ID:        " + s.sf.OrgID, "user:          " + jwtUsername + " (005", "instance URL:  " + s.sf.URL, "10m0s"}},
		{"cc", "client credentials", "", s.sf.URL, "45m0s", map[string]string{"DYNAMO_SF_SESSION_MAX_AGE": "45m"}, []string{"client credentials (DYNAMO_SF_CLIENT_ID, DYNAMO_SF_CLIENT_SECRET, DYNAMO_SF_LOGIN_URL)", "org ID:        " + s.sf.OrgID, "user:          (unknown) (005", "45m0s"}},
	} {
		t.Run(tc.set, func(t *testing.T) {
			e := with(env, s.set(tc.set), tc.extra)
			r := scan.add(runWith(t, e, "auth"))
			wantCode(t, r, exitOK)
			wantContains(t, "stdout", r.stdout, append(tc.wantText, "tenant:        "+env["DYNAMO_TENANT_ID"]+" (the session's org)")...)

			r = scan.add(runWith(t, e, "--json", "auth"))
			wantCode(t, r, exitOK)
			var out authJSON
			decodeJSON(t, r, &out)
			if out.Origin != tc.origin || out.Where != tc.where || out.MaxAge != tc.maxAge || out.TenantID != env["DYNAMO_TENANT_ID"] ||
				out.OrgMatchesTenant == nil || !*out.OrgMatchesTenant || out.Username != tc.user {
				t.Errorf("auth --json: %+v", out)
			}
			if tc.set != "fixed" && (out.OrgID != s.sf.OrgID || out.InstanceURL != s.sf.URL || out.UserID == "") {
				t.Errorf("auth --json: %+v, want org %s on %s with a user ID", out, s.sf.OrgID, s.sf.URL)
			}
		})
	}
	if n := s.sf.TokenRequests(); n != 4 {
		t.Errorf("%d token requests, want one per run of auth with a flow", n)
	}
	scan.check(t, s.keyPEM)
}

// TestAuthRefusals covers what auth refuses: another org (exit 2), the
// token endpoint's refusal (exit 1), no credentials, a partial set and
// --fake (exit 2). auth never posts.
func TestAuthRefusals(t *testing.T) {
	t.Parallel()
	s := newSalesforce(t)
	other := newSalesforce(t, dynamotest.WithOrgID("00D000000000002AAA"))
	refused := newSalesforce(t)
	refused.sf.RefuseUser(ccRunAs)
	srv, env := newServer(t)
	var scan secretScan
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"another org", with(env, other.set("jwt")), nil, exitUsage,
			[]string{"org ID:        00D000000000002AAA", "ANOTHER org"},
			[]string{"00D000000000002AAA", env["DYNAMO_TENANT_ID"], "DYNAMO_TENANT_ID", "nothing was posted"}},
		{"refused", with(env, refused.set("cc")), nil, exitFailed, nil,
			[]string{"invalid_grant", "user hasn't approved this consumer"}},
		{"none", env, nil, exitUsage, nil,
			[]string{"no Salesforce credentials", "DYNAMO_SF_SESSION_ID", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET", "DYNAMO_SF_ORG"}},
		{"partial", with(env, map[string]string{"DYNAMO_SF_CLIENT_ID": ccClientID, "DYNAMO_SF_CLIENT_SECRET": ccSecret}), nil, exitUsage, nil,
			[]string{"DYNAMO_SF_LOGIN_URL"}},
		{"fake", with(env, s.set("jwt")), []string{"--fake"}, exitUsage, nil, []string{"--fake"}},
		{"no tenant", s.set("jwt"), nil, exitOK, []string{"tenant:        (DYNAMO_TENANT_ID not set)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scan.add(runWith(t, tc.env, append(tc.args, "auth")...))
			wantCode(t, r, tc.code)
			wantContains(t, "stdout", r.stdout, tc.stdout...)
			wantContains(t, "stderr", r.stderr, tc.stderr...)
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("auth sent %d requests to Dynamo", n)
	}
	if n := s.sf.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want the one of 'no tenant'", n)
	}
	scan.check(t, s.keyPEM)
}
