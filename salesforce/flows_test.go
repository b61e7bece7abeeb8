package salesforce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

func TestJWTBearerConfigRefused(t *testing.T) {
	t.Parallel()
	ok := salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: testKey().pkcs1}
	ecKey := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2\nOF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r\n1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name   string
		change func(*salesforce.JWTConfig)
		want   string
	}{
		{"no client ID", func(c *salesforce.JWTConfig) { c.ClientID = "" }, "ClientID"},
		{"no username", func(c *salesforce.JWTConfig) { c.Username = "" }, "Username"},
		{"no key", func(c *salesforce.JWTConfig) { c.PrivateKey = nil }, "PrivateKey"},
		{"not PEM", func(c *salesforce.JWTConfig) { c.PrivateKey = []byte("not a key") }, "not PEM"},
		{"not RSA", func(c *salesforce.JWTConfig) { c.PrivateKey = []byte(ecKey) }, "not an RSA key"},
		{"plain http", func(c *salesforce.JWTConfig) { c.LoginURL = "http://login.salesforce.com" }, "plain http"},
		{"not a URL", func(c *salesforce.JWTConfig) { c.LoginURL = "login.salesforce.com" }, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.change(&cfg)
			_, err := salesforce.JWTBearer(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assertNoSecret(t, "error", err)
		})
	}
	_, err := salesforce.JWTBearer(ok, salesforce.WithMaxAge(0))
	assert.ErrorContains(t, err, "WithMaxAge")
}

func TestLoginURLPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for url, allowed := range map[string]bool{
		"https://example.my.salesforce.com": true,
		"http://127.0.0.1:8080":             true,
		"http://[::1]:8080":                 true,
		"http://localhost:8080":             true,
		"http://example.my.salesforce.com":  false,
		"http://10.0.0.1":                   false,
		"https://user:pw@example.com":       false,
		"https://example.com/?q=1":          false,
		"ftp://example.com":                 false,
	} {
		_, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: testClientSecret, LoginURL: url})
		assert.Equal(t, allowed, err == nil, "%s: %v", url, err)
		if err != nil {
			assertNoSecret(t, "error", err)
		}
	}
}

func TestFromTokenSource(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	ts := tokenFunc(func() (*oauth2.Token, error) {
		n := calls.Add(1)
		tok := &oauth2.Token{AccessToken: testOrg + "!" + accessTokenMark + string(rune('0'+n))}
		return tok.WithExtra(map[string]any{"instance_url": testInstanceURL}), nil
	})
	clock := newFakeClock()
	src := salesforce.FromTokenSource(ts, clock.option())
	s, err := src.Session(context.Background())
	require.NoError(t, err)
	assert.Equal(t, testInstanceURL, s.ServerURL)
	assert.True(t, strings.HasPrefix(s.ID, testOrg+"!"))
	id, err := src.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, salesforce.Identity{Origin: "token source", OrgID: testOrg, InstanceURL: testInstanceURL}, id)
	clock.Advance(10 * time.Minute)
	s2, err := src.Session(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, s.ID, s2.ID, "a session 10 minutes old is replaced")
	assert.EqualValues(t, 2, calls.Load())

	noInstance := salesforce.FromTokenSource(tokenFunc(func() (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: testOrg + "!" + accessTokenMark}, nil
	}))
	_, err = noInstance.Session(context.Background())
	assert.ErrorContains(t, err, "instance_url")
	assertNoSecret(t, "error", err)

	_, err = salesforce.FromTokenSource(nil).Session(context.Background())
	assert.ErrorContains(t, err, "nil")
	assert.ErrorIs(t, err, dynamo.ErrInvalidConfig)
	_, err = salesforce.FromTokenSource(ts, salesforce.WithMaxAge(-1)).Session(context.Background())
	assert.ErrorContains(t, err, "WithMaxAge")
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

func TestTransientFailuresRetried(t *testing.T) {
	t.Parallel()
	t.Run("connection refused then served", func(t *testing.T) {
		t.Parallel()
		e := newTokenEndpoint(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close()) // nothing listens: the first attempt is refused
		clock := newFakeClock()
		var attempts atomic.Int32
		// The first attempt goes to the closed port; the others to the
		// endpoint, through a transport that picks the address.
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			to := e.srv.Listener.Addr().String()
			if attempts.Add(1) == 1 {
				to = addr
			}
			return (&net.Dialer{}).DialContext(ctx, network, to)
		}}}
		t.Cleanup(hc.CloseIdleConnections)
		s, err := jwtSource(t, e, clock.option(), salesforce.WithHTTPClient(hc)).Session(context.Background())
		require.NoError(t, err)
		assert.Equal(t, e.Issued()[0], s.ID)
		assert.Len(t, clock.Waits(), 1)
	})
	t.Run("no answer at all", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		t.Cleanup(srv.Close)
		clock := newFakeClock()
		src, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: testClientSecret, LoginURL: srv.URL}, clock.option())
		require.NoError(t, err)
		_, err = src.Session(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no answer from the token endpoint")
		assert.Contains(t, err.Error(), "after 4 attempts")
		assert.Len(t, clock.Waits(), 3)
		assertNoSecret(t, "error", err)
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	src, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: testClientSecret, LoginURL: srv.URL})
	require.NoError(t, err)
	_, err = src.Session(context.Background())
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusTemporaryRedirect, te.Status)
	assert.Zero(t, elsewhere.Load(), "the secret went nowhere else")
}

func TestCallerLeavingDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	e.before = func() {
		arrived <- struct{}{}
		<-release
	}
	src := jwtSource(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := src.Session(ctx)
		first <- err
	}()
	<-arrived // the mint is under way
	second := make(chan error, 1)
	go func() {
		_, err := src.Session(context.Background())
		second <- err
	}()
	for src.Waiters() < 2 { // the second caller waits for the same mint
		runtime.Gosched()
	}
	cancel()
	assert.ErrorIs(t, <-first, context.Canceled, "the first caller leaves at once")
	close(release)
	assert.NoError(t, <-second, "the other still gets the session")
	assert.Len(t, e.Requests(), 1)
}

func TestErrorsOfFailedMintsHoldNoSecret(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t)
	e.echo = true // every refusal repeats the form sent, and a session
	srcs := map[string]*salesforce.Source{}
	var err error
	srcs["client credentials"], err = salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: testClientSecret, LoginURL: e.URL()})
	require.NoError(t, err)
	srcs["refresh token"], err = salesforce.RefreshToken(salesforce.RefreshTokenConfig{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefreshToken, LoginURL: e.URL()})
	require.NoError(t, err)
	srcs["JWT bearer"] = jwtSource(t, e)
	for name, src := range srcs {
		_, err := src.Session(context.Background())
		var te *salesforce.TokenError
		require.ErrorAs(t, err, &te, name)
		assert.Equal(t, "invalid_client", te.Code)
		assert.Contains(t, te.Description, "[REDACTED]")
		assert.Contains(t, te.Description, "grant_type=", "the rest of the echo stays")
		assertNoSecret(t, name+"'s error", err)
		assertNoSecret(t, name, src)
	}
}

func TestPrintedValuesHoldNoSecret(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t)
	jwtCfg := salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: testKey().pkcs8, LoginURL: e.URL()}
	ccCfg := salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: testClientSecret, LoginURL: e.URL()}
	rtCfg := salesforce.RefreshTokenConfig{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefreshToken, LoginURL: e.URL()}
	jwt, err := salesforce.JWTBearer(jwtCfg)
	require.NoError(t, err)
	cc, err := salesforce.ClientCredentials(ccCfg)
	require.NoError(t, err)
	rt, err := salesforce.RefreshToken(rtCfg)
	require.NoError(t, err)
	values := map[string]any{
		"JWTConfig": jwtCfg, "*JWTConfig": &jwtCfg,
		"ClientCredentialsConfig": ccCfg, "*ClientCredentialsConfig": &ccCfg,
		"RefreshTokenConfig": rtCfg, "*RefreshTokenConfig": &rtCfg,
		"JWT source": jwt, "client credentials source": cc, "refresh token source": rt,
		"configs in a struct": struct {
			A salesforce.JWTConfig
			B []salesforce.ClientCredentialsConfig
			C map[string]salesforce.RefreshTokenConfig
		}{jwtCfg, []salesforce.ClientCredentialsConfig{ccCfg}, map[string]salesforce.RefreshTokenConfig{"x": rtCfg}},
	}
	// The sources hold a session once they minted one.
	for _, src := range []*salesforce.Source{jwt, cc, rt} {
		s, err := src.Session(context.Background())
		require.NoError(t, err)
		values["session of "+src.String()] = s
		id, err := src.Identity(context.Background())
		require.NoError(t, err)
		values["identity of "+src.String()] = id
	}
	for name, v := range values {
		assertNoSecret(t, name, v, e.Issued()...)
	}
	for _, cfg := range []any{jwtCfg, ccCfg, rtCfg} {
		_, err := jsonMarshal(cfg)
		assert.ErrorIs(t, err, salesforce.ErrSecretNotEncoded)
	}
	assert.Contains(t, jwt.String(), "JWT bearer")
	assert.Contains(t, jwt.String(), e.URL())
	assert.Contains(t, fmt.Sprint(jwtCfg), testUsername)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func TestFixedSession(t *testing.T) {
	t.Parallel()
	session := dynamo.Session{ID: testOrg + "!" + accessTokenMark + "-fixed", ServerURL: testInstanceURL}
	clock := newFakeClock()
	src, err := salesforce.Fixed(session, clock.option())
	require.NoError(t, err)
	for range 2 {
		s, err := src.Session(context.Background())
		require.NoError(t, err)
		assert.Equal(t, session, s, "never renewed")
		clock.Advance(24 * time.Hour)
	}
	id, err := src.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, salesforce.Identity{Origin: "fixed session", OrgID: testOrg, InstanceURL: testInstanceURL}, id)
	assertNoSecret(t, "fixed source", src, session.ID)
	_, err = salesforce.Fixed(dynamo.Session{ID: session.ID})
	assert.Error(t, err)
}

// An endpoint may echo the form it was sent as it arrived, URL-encoded: a
// secret with characters that the form escapes ("+", "/", "=", as a
// refresh token's base64 padding) must not reach the error in that form
// either.
func TestErrorsHoldNoURLEncodedSecret(t *testing.T) {
	t.Parallel()
	const secret = "CSECRET+s3cr3t/Hb7Tq2Lw9Xz4Km=="
	const refresh = "REFRESH+s3cr3t/Pq8Vn3Yc6Rd1Jf=="
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html>bad request: %s</html>", body[:n])
	}))
	t.Cleanup(srv.Close)
	cc, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, ClientSecret: secret, LoginURL: srv.URL})
	require.NoError(t, err)
	rt, err := salesforce.RefreshToken(salesforce.RefreshTokenConfig{ClientID: testClientID, ClientSecret: secret, RefreshToken: refresh, LoginURL: srv.URL})
	require.NoError(t, err)
	for name, src := range map[string]*salesforce.Source{"client credentials": cc, "refresh token": rt} {
		_, err := src.Session(context.Background())
		var te *salesforce.TokenError
		require.ErrorAs(t, err, &te, name)
		assert.Contains(t, te.Description, "grant_type=", "%s: the echo is in the error", name)
		for _, s := range []string{secret, refresh} {
			for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), s[8:20]} {
				assert.NotContains(t, err.Error(), form, name)
			}
		}
	}
}
