package salesforce_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

// env is a lookup over a map, as FromLookup takes.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestFromLookupChain(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	keyFile := filepath.Join(t.TempDir(), "server.key")
	require.NoError(t, os.WriteFile(keyFile, testKey().pkcs1, 0o600))
	fixedSession := testOrg + "!" + accessTokenMark + "-env"
	for _, tc := range []struct {
		name   string
		vars   map[string]string
		origin string // the source's origin, when it is made
		mints  bool   // whether Session is tried against the endpoint
		where  string // in the source's String
		errs   []string
	}{
		{name: "fixed session", vars: map[string]string{"DYNAMO_SF_SESSION_ID": fixedSession, "DYNAMO_SF_SERVER_URL": testInstanceURL}, origin: "fixed session", mints: true},
		{name: "JWT bearer", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile, "DYNAMO_SF_LOGIN_URL": sf.URL}, origin: "JWT bearer", mints: true},
		{name: "JWT bearer, default login URL", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile}, where: "https://login.salesforce.com"},
		{name: "JWT bearer, audience", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile, "DYNAMO_SF_LOGIN_URL": sf.URL, "DYNAMO_SF_AUDIENCE": sf.URL}, origin: "JWT bearer", mints: true},
		{name: "client credentials", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": ccClientID, "DYNAMO_SF_CLIENT_SECRET": testClientSecret, "DYNAMO_SF_LOGIN_URL": sf.URL}, origin: "client credentials", mints: true},
		{name: "Salesforce CLI", vars: map[string]string{"DYNAMO_SF_ORG": "my-org"}, where: "Salesforce CLI my-org"},

		{name: "nothing set", vars: map[string]string{}, errs: []string{"no Salesforce credentials", "DYNAMO_SF_SESSION_ID", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET", "DYNAMO_SF_ORG"}},
		{name: "empty values are not set", vars: map[string]string{"DYNAMO_SF_SESSION_ID": "", "DYNAMO_SF_ORG": ""}, errs: []string{"no Salesforce credentials"}},
		{name: "session without server", vars: map[string]string{"DYNAMO_SF_SESSION_ID": fixedSession}, errs: []string{"DYNAMO_SF_SERVER_URL"}},
		{name: "server without session", vars: map[string]string{"DYNAMO_SF_SERVER_URL": testInstanceURL}, errs: []string{"DYNAMO_SF_SESSION_ID"}},
		{name: "JWT without key file", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername}, errs: []string{"JWT bearer", "DYNAMO_SF_JWT_KEY_FILE"}},
		{name: "JWT without client ID", vars: map[string]string{"DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile}, errs: []string{"DYNAMO_SF_CLIENT_ID"}},
		{name: "JWT key file missing", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile + ".gone"}, errs: []string{"DYNAMO_SF_JWT_KEY_FILE", "no such file"}},
		{name: "client credentials without login URL", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_CLIENT_SECRET": testClientSecret}, errs: []string{"client credentials", "DYNAMO_SF_LOGIN_URL"}},
		{name: "client credentials over plain http", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_CLIENT_SECRET": testClientSecret, "DYNAMO_SF_LOGIN_URL": "http://example.my.salesforce.com"}, errs: []string{"plain http"}},
		{name: "login URL alone", vars: map[string]string{"DYNAMO_SF_LOGIN_URL": sf.URL}, errs: []string{"DYNAMO_SF_LOGIN_URL set", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{name: "client ID and login URL", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_LOGIN_URL": sf.URL}, errs: []string{"DYNAMO_SF_CLIENT_ID, DYNAMO_SF_LOGIN_URL set", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{name: "client ID alone", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID}, errs: []string{"DYNAMO_SF_CLIENT_ID", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET"}},
		{name: "fixed and CLI", vars: map[string]string{"DYNAMO_SF_SESSION_ID": fixedSession, "DYNAMO_SF_SERVER_URL": testInstanceURL, "DYNAMO_SF_ORG": "my-org"}, errs: []string{"DYNAMO_SF_SESSION_ID", "DYNAMO_SF_ORG", "set one"}},
		{name: "JWT and client credentials", vars: map[string]string{"DYNAMO_SF_CLIENT_ID": testClientID, "DYNAMO_SF_USERNAME": testUsername, "DYNAMO_SF_JWT_KEY_FILE": keyFile, "DYNAMO_SF_CLIENT_SECRET": testClientSecret, "DYNAMO_SF_LOGIN_URL": sf.URL}, errs: []string{"JWT bearer", "DYNAMO_SF_JWT_KEY_FILE", "client credentials", "DYNAMO_SF_CLIENT_SECRET"}},
		{name: "partial fixed and CLI", vars: map[string]string{"DYNAMO_SF_SERVER_URL": testInstanceURL, "DYNAMO_SF_ORG": "my-org"}, errs: []string{"DYNAMO_SF_SERVER_URL", "DYNAMO_SF_ORG"}},
		{name: "max age not a duration", vars: map[string]string{"DYNAMO_SF_ORG": "my-org", "DYNAMO_SF_SESSION_MAX_AGE": "ten minutes"}, errs: []string{"DYNAMO_SF_SESSION_MAX_AGE"}},
		{name: "max age not positive", vars: map[string]string{"DYNAMO_SF_ORG": "my-org", "DYNAMO_SF_SESSION_MAX_AGE": "0s"}, errs: []string{"DYNAMO_SF_SESSION_MAX_AGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, err := salesforce.FromLookup(env(tc.vars))
			if len(tc.errs) > 0 {
				require.Error(t, err)
				for _, want := range tc.errs {
					assert.Contains(t, err.Error(), want)
				}
				if tc.name == "nothing set" || tc.name == "empty values are not set" {
					assert.ErrorIs(t, err, salesforce.ErrNoCredentials)
					assert.NotErrorIs(t, err, dynamo.ErrInvalidConfig)
				} else {
					assert.NotErrorIs(t, err, salesforce.ErrNoCredentials)
					assert.ErrorIs(t, err, dynamo.ErrInvalidConfig, "a configuration to fix")
				}
				assertNoSecret(t, "error", err, fixedSession)
				return
			}
			require.NoError(t, err)
			assertNoSecret(t, "source", src, fixedSession)
			if tc.where != "" {
				assert.Contains(t, src.String(), tc.where)
			}
			if !tc.mints {
				return
			}
			s, err := src.Session(context.Background())
			require.NoError(t, err)
			assert.Equal(t, testInstanceURL, s.ServerURL)
			id, err := src.Identity(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.origin, id.Origin)
			assert.Equal(t, testOrg, id.OrgID[:15])
		})
	}
}

func TestFromLookupMaxAge(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	vars := map[string]string{"DYNAMO_SF_CLIENT_ID": ccClientID, "DYNAMO_SF_CLIENT_SECRET": testClientSecret, "DYNAMO_SF_LOGIN_URL": sf.URL, "DYNAMO_SF_SESSION_MAX_AGE": "1h"}
	for _, tc := range []struct {
		name  string
		opts  []salesforce.Option
		mints int
	}{
		{"from the environment", nil, 1},
		{"an option overrides it", []salesforce.Option{salesforce.WithMaxAge(20 * time.Minute)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := sf.TokenRequests()
			clock := newFakeClock()
			src, err := salesforce.FromLookup(env(vars), append([]salesforce.Option{clock.option()}, tc.opts...)...)
			require.NoError(t, err)
			_, err = src.Session(context.Background())
			require.NoError(t, err)
			clock.Advance(30 * time.Minute)
			_, err = src.Session(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.mints, sf.TokenRequests()-before, "token requests over 30 minutes")
		})
	}
}

func TestFromEnvReadsTheEnvironment(t *testing.T) {
	session := testOrg + "!" + accessTokenMark + "-environ"
	for _, name := range []string{"DYNAMO_SF_CLIENT_ID", "DYNAMO_SF_USERNAME", "DYNAMO_SF_JWT_KEY_FILE", "DYNAMO_SF_CLIENT_SECRET", "DYNAMO_SF_ORG", "DYNAMO_SF_SESSION_MAX_AGE", "DYNAMO_SF_AUDIENCE", "DYNAMO_SF_LOGIN_URL"} {
		t.Setenv(name, "")
	}
	t.Setenv("DYNAMO_SF_SESSION_ID", session)
	t.Setenv("DYNAMO_SF_SERVER_URL", testInstanceURL)
	src, err := salesforce.FromEnv()
	require.NoError(t, err)
	s, err := src.Session(context.Background())
	require.NoError(t, err)
	assert.Equal(t, session, s.ID)
	assert.Equal(t, fmt.Sprint(src), "salesforce.Source{fixed session}")
}
