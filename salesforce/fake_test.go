package salesforce_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

// claims decodes a JWT assertion's header and claims, as sent.
func claims(t *testing.T, assertion string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(assertion, ".")
	require.Len(t, parts, 3, "a JWT")
	for i, into := range []*map[string]any{&header, &claims} {
		data, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, into))
	}
	return header, claims
}

func TestJWTBearerAssertionClaimByClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		key      func() []byte
		audience string
	}{
		{"PKCS#1 key, audience the login URL", func() []byte { return testKey().pkcs1 }, ""},
		{"PKCS#8 key, audience of its own", func() []byte { return testKey().pkcs8 }, "https://login.salesforce.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []dynamotest.SalesforceOption
			if tc.audience != "" {
				opts = append(opts, dynamotest.WithAudience(tc.audience))
			}
			sf := newFakeLogin(t, opts...)
			w := newWire(t)
			src, err := salesforce.JWTBearer(salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: tc.key(), LoginURL: sf.URL + "/", Audience: tc.audience}, w.option())
			require.NoError(t, err)
			before := time.Now()
			s, err := src.Session(context.Background())
			require.NoError(t, err, "the fake verified the assertion")

			reqs := sf.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "/services/oauth2/token", reqs[0].Path)
			assert.Equal(t, http.StatusOK, reqs[0].Status)
			forms := w.Forms()
			require.Len(t, forms, 1)
			assert.Equal(t, "urn:ietf:params:oauth:grant-type:jwt-bearer", forms[0].Get("grant_type"))
			header, c := claims(t, forms[0].Get("assertion"))
			assert.Equal(t, "RS256", header["alg"])
			assert.Equal(t, testClientID, c["iss"], "iss is the consumer key")
			assert.Equal(t, testUsername, c["sub"], "sub is the username")
			wantAud := tc.audience
			if wantAud == "" {
				wantAud = sf.URL
			}
			assert.Equal(t, wantAud, c["aud"], "aud")
			exp := time.Unix(int64(c["exp"].(float64)), 0)
			assert.True(t, exp.After(before), "exp is ahead")
			assert.LessOrEqual(t, exp.Sub(before), 3*time.Minute, "exp at most 3 minutes ahead")
			assert.NotContains(t, c, "scope", "no scope claim")
			assert.Equal(t, w.Tokens(), []string{s.ID}, "the session is the access token")
			assert.True(t, strings.HasPrefix(s.ID, testOrg+"!"))
			assert.Equal(t, testInstanceURL, s.ServerURL, "the server is the instance URL")

			id, err := src.Identity(context.Background())
			require.NoError(t, err)
			assert.Equal(t, salesforce.Identity{Origin: "JWT bearer", OrgID: testOrg18, UserID: sf.UserID, Username: testUsername, InstanceURL: testInstanceURL}, id)
			assert.Equal(t, 1, sf.TokenRequests(), "Identity reads the session already minted")
		})
	}
}

func TestJWTBearerRefusedByTheFake(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t, dynamotest.WithAudience("https://test.salesforce.com"))
	w := newWire(t)
	// The audience the login URL gives is not the one the host wants.
	_, err := jwtFrom(t, sf, w).Session(context.Background())
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "invalid_grant", te.Code)
	assert.Equal(t, sf.Requests()[0].ErrorDescription, te.Description)
	assert.Equal(t, 1, sf.TokenRequests(), "a refusal is not retried")
	assertNoSecret(t, "error", err)
}

func TestClientCredentialsForm(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	w := newWire(t)
	src, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: ccClientID, ClientSecret: testClientSecret, LoginURL: sf.URL}, w.option())
	require.NoError(t, err)
	s, err := src.Session(context.Background())
	require.NoError(t, err)
	reqs := sf.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "client_credentials", reqs[0].GrantType)
	assert.Equal(t, ccClientID, reqs[0].ClientID)
	assert.Equal(t, testUsername, reqs[0].Username, "the run-as user")
	assert.False(t, reqs[0].BasicAuth, "the credentials go in the form")
	assert.Equal(t, testClientSecret, w.Forms()[0].Get("client_secret"))
	assert.Equal(t, w.Tokens(), []string{s.ID})
	id, err := src.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, salesforce.Identity{Origin: "client credentials", OrgID: testOrg18, UserID: sf.UserID, InstanceURL: testInstanceURL}, id)

	wrong, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: ccClientID, ClientSecret: "wrong-" + testClientSecret, LoginURL: sf.URL}, w.option())
	require.NoError(t, err)
	_, err = wrong.Session(context.Background())
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "invalid_client", te.Code)
	assertNoSecret(t, "error", err)
}

func TestRefreshTokenKeepsTheRotatedOne(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	w := newWire(t)
	first := sf.IssueRefreshToken(webClientID, testUsername)
	clock := newFakeClock()
	var rotated []string
	src, err := salesforce.RefreshToken(salesforce.RefreshTokenConfig{
		ClientID: webClientID, ClientSecret: testClientSecret, RefreshToken: first, LoginURL: sf.URL,
		OnRotate: func(rt string) { rotated = append(rotated, rt) },
	}, clock.option(), w.option())
	require.NoError(t, err)
	for range 3 {
		_, err := src.Session(context.Background())
		require.NoError(t, err, "the fake revokes a used refresh token: the rotated one must be used")
		clock.Advance(11 * time.Minute)
	}
	forms := w.Forms()
	require.Len(t, forms, 3)
	assert.Equal(t, first, forms[0].Get("refresh_token"))
	require.Len(t, rotated, 3)
	for i := 1; i < 3; i++ {
		assert.Equal(t, rotated[i-1], forms[i].Get("refresh_token"), "request %d uses the token rotated by the one before", i)
		assert.Equal(t, "refresh_token", forms[i].Get("grant_type"))
		assert.Equal(t, testClientSecret, forms[i].Get("client_secret"))
	}
	for _, r := range sf.Requests() {
		assert.Equal(t, http.StatusOK, r.Status)
	}
	id, err := src.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "refresh token", id.Origin)
	assert.Equal(t, sf.UserID, id.UserID)
}

func TestSessionKeptUntilMaxAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []salesforce.Option
		maxAge time.Duration
	}{
		{"default, 10 minutes", nil, 10 * time.Minute},
		{"WithMaxAge", []salesforce.Option{salesforce.WithMaxAge(time.Hour)}, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sf := newFakeLogin(t)
			clock := newFakeClock()
			src := jwtFrom(t, sf, newWire(t), append(tc.opts, clock.option())...)
			first, err := src.Session(context.Background())
			require.NoError(t, err)
			clock.Advance(tc.maxAge - time.Second)
			again, err := src.Session(context.Background())
			require.NoError(t, err)
			assert.Equal(t, first.ID, again.ID, "kept while younger than the maximum age")
			assert.Equal(t, 1, sf.TokenRequests())
			clock.Advance(time.Second)
			fresh, err := src.Session(context.Background())
			require.NoError(t, err)
			assert.NotEqual(t, first.ID, fresh.ID, "replaced at the maximum age")
			assert.Equal(t, 2, sf.TokenRequests())
		})
	}
}

func TestInvalidGrantReportedAtOnce(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	sf.RefuseUser(testUsername)
	clock := newFakeClock()
	src := jwtFrom(t, sf, newWire(t), clock.option())
	_, err := src.Session(context.Background())
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusBadRequest, te.Status)
	assert.Equal(t, "invalid_grant", te.Code)
	assert.Equal(t, "user hasn't approved this consumer", te.Description)
	assert.Equal(t, sf.TokenURL(), te.URL)
	assert.Equal(t, 1, te.Attempts)
	assert.Contains(t, err.Error(), "invalid_grant: user hasn't approved this consumer")
	assert.Equal(t, 1, sf.TokenRequests(), "not retried")
	assert.Empty(t, clock.Waits())
	assertNoSecret(t, "error", err)

	// The next caller asks again: a failure is not kept.
	_, err = src.Session(context.Background())
	require.Error(t, err)
	assert.Equal(t, 2, sf.TokenRequests())
}

func TestServerErrorsRetried(t *testing.T) {
	t.Parallel()
	t.Run("503 then 200", func(t *testing.T) {
		t.Parallel()
		sf := newFakeLogin(t)
		sf.FailNext(1, http.StatusServiceUnavailable)
		clock := newFakeClock()
		w := newWire(t)
		s, err := jwtFrom(t, sf, w, clock.option()).Session(context.Background())
		require.NoError(t, err)
		assert.Equal(t, w.Tokens(), []string{s.ID})
		assert.Equal(t, 2, sf.TokenRequests())
		require.Len(t, clock.Waits(), 1, "one backoff")
		assert.Positive(t, clock.Waits()[0])
	})
	t.Run("5xx until the attempts run out", func(t *testing.T) {
		t.Parallel()
		sf := newFakeLogin(t)
		sf.FailNext(2, http.StatusServiceUnavailable)
		sf.FailNext(3, http.StatusBadGateway)
		clock := newFakeClock()
		_, err := jwtFrom(t, sf, newWire(t), clock.option()).Session(context.Background())
		var te *salesforce.TokenError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, http.StatusBadGateway, te.Status)
		assert.Equal(t, 4, te.Attempts)
		assert.Contains(t, err.Error(), "after 4 attempts")
		assert.Equal(t, 4, sf.TokenRequests())
		waits := clock.Waits()
		require.Len(t, waits, 3)
		assert.Less(t, waits[0], waits[2], "the backoff grows")
	})
	t.Run("a 4xx is not retried", func(t *testing.T) {
		t.Parallel()
		sf := newFakeLogin(t)
		sf.FailNext(1, http.StatusBadRequest)
		_, err := jwtFrom(t, sf, newWire(t), newFakeClock().option()).Session(context.Background())
		var te *salesforce.TokenError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "invalid_request", te.Code)
		assert.Equal(t, 1, sf.TokenRequests())
	})
}
