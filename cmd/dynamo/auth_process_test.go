//go:build unix

package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// The sessions of these tests come from dynamotest's fake Salesforce login
// host, or from a stub sf on PATH; the tool runs as a child process, as a
// user runs it.

const (
	sfClientID     = "3MVG9-tool-test-app"
	sfCCClientID   = "3MVG9-tool-cc-app"
	sfClientSecret = "CSECRET-tool-s3cr3t-Rk4Vw7Pz1"
	sfUsername     = "integration@example.com"
	otherOrgID     = "00D5g000004QpXyEAK"
)

// sfKey is an RSA key made once for the tests, and the PEM file holding it.
var sfKey = sync.OnceValues(func() (*rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
})

// sfLogin starts a fake login host of the org orgID (the default tenant's
// org when empty) with a JWT app, a client credentials app and the user.
func sfLogin(t *testing.T, orgID string) *dynamotest.Salesforce {
	t.Helper()
	var opts []dynamotest.SalesforceOption
	if orgID != "" {
		opts = append(opts, dynamotest.WithOrgID(orgID))
	}
	sf := dynamotest.NewSalesforce(opts...)
	t.Cleanup(sf.Close)
	key, _ := sfKey()
	sf.AddJWTApp(sfClientID, &key.PublicKey)
	sf.AddClientCredentialsApp(sfCCClientID, sfClientSecret, sfUsername)
	sf.AddUser(sfUsername)
	return sf
}

// jwtEnv is the JWT bearer flow's variables against sf.
func jwtEnv(t *testing.T, sf *dynamotest.Salesforce) map[string]string {
	_, pemKey := sfKey()
	keyFile := filepath.Join(t.TempDir(), "server.key")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"DYNAMO_SF_CLIENT_ID": sfClientID, "DYNAMO_SF_USERNAME": sfUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile, "DYNAMO_SF_LOGIN_URL": sf.URL}
}

// ccEnv is the client credentials flow's variables against sf.
func ccEnv(sf *dynamotest.Salesforce) map[string]string {
	return map[string]string{"DYNAMO_SF_CLIENT_ID": sfCCClientID, "DYNAMO_SF_CLIENT_SECRET": sfClientSecret, "DYNAMO_SF_LOGIN_URL": sf.URL}
}

// stubSF puts an sf first on PATH that answers for org "my-org" as the
// current CLI does (org display redacts the token) with a session of
// orgID, and returns the PATH and the session.
func stubSF(t *testing.T, orgID string) (path, session string) {
	t.Helper()
	dir := t.TempDir()
	session = orgID[:15] + "!AQcliSESSION.s3cr3t.Tq8Wm2Zk5"
	display := fmt.Sprintf(`{"status":0,"result":{"id":%q,"accessToken":"[REDACTED]","instanceUrl":"https://cli.my.salesforce.com","username":"dev@example.com","alias":"my-org"}}`, orgID)
	show := fmt.Sprintf(`{"status":0,"result":{"accessToken":%q,"instanceUrl":"https://cli.my.salesforce.com","username":"dev@example.com"}}`, session)
	for name, body := range map[string]string{"display.json": display, "show.json": show} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`#!/bin/sh
case "$*" in
"org display --target-org my-org --json") cat %q ;;
"org auth show-access-token --target-org my-org --json") cat %q ;;
*) echo '{"status":1,"name":"NoAuthInfoFound","message":"No authorization information found for the org."}'; exit 1 ;;
esac
`, filepath.Join(dir, "display.json"), filepath.Join(dir, "show.json"))
	if err := os.WriteFile(filepath.Join(dir, "sf"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), session
}

// with is env and more.
func with(env map[string]string, more ...map[string]string) map[string]string {
	out := make(map[string]string)
	for _, m := range append([]map[string]string{env}, more...) {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// wantNoSecret fails the test when the tool's output holds a piece of a
// secret: the sessions posted, the key, the client secret, or anything like
// a session (one a flow got but never posted is known to no test).
func wantNoSecret(t *testing.T, r result, sessions ...string) {
	t.Helper()
	if m := sessionLike.FindString(r.stdout + r.stderr); m != "" {
		t.Fatalf("the output shows something like a session: %.20s…\n%s", m, r)
	}
	_, pemKey := sfKey()
	secrets := append([]string{sfClientSecret, string(pemKey[40:120])}, sessions...)
	for _, secret := range secrets {
		if len(secret) > 16 {
			secret = secret[16:] // a session's org ID is no secret
		}
		for i := 0; i+12 <= len(secret); i++ {
			if strings.Contains(r.stdout+r.stderr, secret[i:i+12]) {
				t.Fatalf("the output shows a secret\n%s", r)
			}
		}
	}
}

// postedSessions returns the session of every post the fake took.
func postedSessions(srv *dynamotest.Server) []string {
	var out []string
	for _, b := range srv.Batches() {
		out = append(out, fmt.Sprint(b.Integration["sessionID"]))
	}
	for _, task := range srv.Tasks() {
		out = append(out, fmt.Sprint(task.Integration["sessionID"]))
	}
	return out
}

func TestProcessAuthFromEachSource(t *testing.T) {
	srv, env := newServer(t)
	sf := sfLogin(t, "")
	path, cliSession := stubSF(t, srv.TenantID)
	fixed := srv.TenantID[:15] + "!AQfixedSESSION.s3cr3t.Lp3Xn8Vb"
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		origin string
		user   string
	}{
		{"fixed session", map[string]string{"DYNAMO_SF_SESSION_ID": fixed, "DYNAMO_SF_SERVER_URL": "https://acme.my.salesforce.com"}, nil, "fixed session", "(unknown)"},
		{"JWT bearer", jwtEnv(t, sf), nil, "JWT bearer", sfUsername + " (005"},
		{"client credentials", ccEnv(sf), nil, "client credentials", "(unknown) (005"},
		{"Salesforce CLI", map[string]string{"DYNAMO_SF_ORG": "my-org", "PATH": path}, nil, "Salesforce CLI", "dev@example.com"},
		{"--sf-org", map[string]string{"PATH": path}, []string{"--sf-org", "my-org"}, "Salesforce CLI", "dev@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startTool(t, with(env, tc.env), append([]string{"auth"}, tc.args...)...).wait(t)
			wantCode(t, r, exitOK)
			wantContains(t, "stdout", r.stdout,
				"session from:  "+tc.origin,
				"org ID:        "+srv.TenantID[:15],
				"user:          "+tc.user,
				"tenant:        "+srv.TenantID+" (the session's org)")
			wantNoSecret(t, r, fixed, cliSession)
		})
	}
	if n := sf.TokenRequests(); n != 2 {
		t.Errorf("token requests: %d, want one for each flow", n)
	}
}

func TestProcessAuthJSON(t *testing.T) {
	srv, env := newServer(t)
	sf := sfLogin(t, "")
	r := startTool(t, with(env, jwtEnv(t, sf)), "--json", "auth").wait(t)
	wantCode(t, r, exitOK)
	var out authOutput
	decodeJSON(t, r, &out)
	if out.Origin != "JWT bearer" || out.OrgID != sf.OrgID || out.Username != sfUsername || !strings.HasPrefix(out.UserID, "005") ||
		out.InstanceURL != sf.URL || out.TenantID != srv.TenantID || out.OrgMatchesTenant == nil || !*out.OrgMatchesTenant {
		t.Errorf("auth --json: %+v", out)
	}
}

func TestProcessAuthOrgMismatch(t *testing.T) {
	_, env := newServer(t)
	sf := sfLogin(t, otherOrgID)
	r := startTool(t, with(env, jwtEnv(t, sf)), "auth").wait(t)
	wantCode(t, r, exitUsage)
	wantContains(t, "stdout", r.stdout, "(ANOTHER org than the session's)")
	wantContains(t, "stderr", r.stderr, otherOrgID[:15], "00D000000000001", "Dynamo would refuse it")
}

func TestProcessAuthTokenRefused(t *testing.T) {
	_, env := newServer(t)
	sf := sfLogin(t, "")
	sf.RefuseUser(sfUsername)
	r := startTool(t, with(env, jwtEnv(t, sf)), "auth").wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "invalid_grant", "user hasn't approved this consumer")
	wantNoSecret(t, r)
}

// Every posting command posts with the session of each source.
func TestProcessPostsFromEachSource(t *testing.T) {
	sf := sfLogin(t, "")
	csv := writeFile(t, "records.csv", "id\n001000000000001\n001000000000002\n001000000000003\n")
	commands := map[string][]string{
		"post":      {"post", "--template", "T", "--id", "001000000000001"},
		"task post": {"task", "post", "--template", "T", "--param", "id=001000000000001"},
		"bulk":      {"bulk", "--template", "T", "--csv", csv, "--chunk-size", "2", "--no-wait"},
	}
	for _, src := range []string{"fixed session", "JWT bearer", "client credentials", "Salesforce CLI"} {
		for name, args := range commands {
			t.Run(src+"/"+name, func(t *testing.T) {
				srv, env := newServer(t)
				var srcEnv map[string]string
				switch src {
				case "fixed session":
					srcEnv = map[string]string{"DYNAMO_SF_SESSION_ID": srv.TenantID[:15] + "!AQfixed.s3cr3t.Hn2Kq7", "DYNAMO_SF_SERVER_URL": "https://acme.my.salesforce.com"}
				case "JWT bearer":
					srcEnv = jwtEnv(t, sf)
				case "client credentials":
					srcEnv = ccEnv(sf)
				default:
					path, _ := stubSF(t, srv.TenantID)
					srcEnv = map[string]string{"DYNAMO_SF_ORG": "my-org", "PATH": path}
				}
				r := startTool(t, with(env, srcEnv), args...).wait(t)
				wantCode(t, r, exitOK)
				sessions := postedSessions(srv)
				if len(sessions) == 0 {
					t.Fatalf("nothing posted\n%s", r)
				}
				for _, s := range sessions {
					if !strings.HasPrefix(s, srv.TenantID[:15]+"!") {
						t.Errorf("posted session %.16s…, want one of the tenant's org", s)
					}
				}
				wantNoSecret(t, r, sessions...)
			})
		}
	}
}

func TestProcessPostOrgMismatchExitsBeforePosting(t *testing.T) {
	sf := sfLogin(t, otherOrgID)
	csv := writeFile(t, "records.csv", "id\n001000000000001\n")
	for name, args := range map[string][]string{
		"post":      {"post", "--template", "T", "--id", "001000000000001"},
		"task post": {"task", "post", "--template", "T", "--param", "id=001000000000001"},
		"bulk":      {"bulk", "--template", "T", "--csv", csv, "--no-wait"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, env := newServer(t)
			r := startTool(t, with(env, jwtEnv(t, sf)), args...).wait(t)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, otherOrgID[:15], srv.TenantID[:15], "nothing was posted")
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests reached Dynamo", n)
			}
		})
	}
}

func TestProcessPostTokenRefusedExits1(t *testing.T) {
	sf := sfLogin(t, "")
	sf.RefuseUser(sfUsername)
	srv, env := newServer(t)
	r := startTool(t, with(env, ccEnv(sf)), "post", "--template", "T", "--id", "001000000000001").wait(t)
	wantCode(t, r, exitFailed)
	wantContains(t, "stderr", r.stderr, "invalid_grant", "user hasn't approved this consumer")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached Dynamo", n)
	}
	wantNoSecret(t, r)
}

func TestSessionSourceUsage(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"none", nil, []string{"auth"}, []string{"no Salesforce credentials", "DYNAMO_SF_ORG"}},
		{"partial JWT", map[string]string{"DYNAMO_SF_CLIENT_ID": sfClientID, "DYNAMO_SF_USERNAME": sfUsername}, []string{"post", "--template", "T", "--id", "1"}, []string{"DYNAMO_SF_JWT_KEY_FILE"}},
		{"client ID alone", map[string]string{"DYNAMO_SF_CLIENT_ID": sfClientID}, []string{"auth"}, []string{"DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{"two sets", map[string]string{"DYNAMO_SF_SESSION_ID": "s", "DYNAMO_SF_SERVER_URL": "https://x", "DYNAMO_SF_ORG": "my-org"}, []string{"auth"}, []string{"DYNAMO_SF_SESSION_ID", "DYNAMO_SF_ORG", "set one"}},
		{"a session and --sf-org", map[string]string{"DYNAMO_SF_SESSION_ID": "s", "DYNAMO_SF_SERVER_URL": "https://x"}, []string{"--sf-org", "my-org", "auth"}, []string{"DYNAMO_SF_SESSION_ID", "--sf-org"}},
		{"max age", map[string]string{"DYNAMO_SF_ORG": "my-org", "DYNAMO_SF_SESSION_MAX_AGE": "soon"}, []string{"task", "post", "--template", "T"}, []string{"DYNAMO_SF_SESSION_MAX_AGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, with(env, tc.env), tc.args...)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, tc.want...)
		})
	}
}
