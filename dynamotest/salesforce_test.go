package dynamotest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestSalesforceClientCredentials(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	sf.AddApp(dynamotest.App{ClientID: "3MVG9norunas", ClientSecret: "s"})
	sf.AddUser("refused@example.com")
	sf.AddClientCredentialsApp("3MVG9refused", "s", "refused@example.com")
	sf.RefuseUser("refused@example.com")
	sf.AddClientCredentialsApp("3MVG9ghost", "s", "ghost@example.com")
	cc := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	t.Run("secret in the form", func(t *testing.T) {
		a := postToken(t, sf, cc("client_id", ccApp, "client_secret", ccSecret), nil)
		require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
		require.True(t, strings.HasPrefix(a.str("access_token"), sf.OrgID[:15]+"!"))
		require.NotContains(t, a.fields, "refresh_token")
		require.NotContains(t, a.fields, "expires_in")
		s, ok := sf.Session(a.str("access_token"))
		require.True(t, ok)
		require.Equal(t, user, s.Username, "a session of the run-as user")
		require.Equal(t, "client_credentials", s.GrantType)
	})
	t.Run("secret in basic authentication", func(t *testing.T) {
		a := postToken(t, sf, cc(), &[2]string{ccApp, ccSecret})
		require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
		last := sf.Requests()[len(sf.Requests())-1]
		require.Equal(t, dynamotest.TokenRequest{Method: "POST", Path: "/services/oauth2/token", GrantType: "client_credentials",
			ClientID: ccApp, Username: user, BasicAuth: true, Status: http.StatusOK}, last)
	})
	for _, tt := range []struct {
		name       string
		form       url.Values
		basic      *[2]string
		code, desc string
	}{
		{"wrong secret", cc("client_id", ccApp, "client_secret", "nope"), nil, "invalid_client", "invalid client credentials"},
		{"wrong secret in basic", cc(), &[2]string{ccApp, "nope"}, "invalid_client", "invalid client credentials"},
		{"no secret", cc("client_id", ccApp), nil, "invalid_client", "invalid client credentials"},
		{"unknown app", cc("client_id", "3MVG9unknown", "client_secret", ccSecret), nil, "invalid_client_id", "client identifier invalid"},
		{"no client", cc(), nil, "invalid_client_id", "client identifier invalid"},
		{"an app without a run-as user", cc("client_id", "3MVG9norunas", "client_secret", "s"), nil, "invalid_grant", "no client credentials user enabled"},
		{"a refused run-as user", cc("client_id", "3MVG9refused", "client_secret", "s"), nil, "invalid_grant", "user hasn't approved this consumer"},
		{"an unknown run-as user", cc("client_id", "3MVG9ghost", "client_secret", "s"), nil, "invalid_grant", "user hasn't approved this consumer"},
		{"both basic and form", cc("client_id", ccApp), &[2]string{ccApp, ccSecret}, "invalid_request", "client credentials in both the Authorization header and the form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			requireRefused(t, postToken(t, sf, tt.form, tt.basic), tt.code, tt.desc)
		})
	}
	require.NotContains(t, fmt.Sprintf("%#v", sf.Requests()), ccSecret)
}

func TestSalesforceRefreshToken(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	sf.AddApp(dynamotest.App{ClientID: "3MVG9public"})
	sf.AddApp(dynamotest.App{ClientID: "3MVG9rotating", ClientSecret: "r", RotateRefreshTokens: true})
	refresh := func(tok, clientID string, secret ...string) tokenAnswer {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}, "client_id": {clientID}}
		if len(secret) > 0 {
			form.Set("client_secret", secret[0])
		}
		return postToken(t, sf, form, nil)
	}

	t.Run("an app with a secret", func(t *testing.T) {
		tok := sf.IssueRefreshToken(webApp, user)
		requireRefused(t, refresh(tok, webApp), "invalid_client", "invalid client credentials")
		requireRefused(t, refresh(tok, webApp, "nope"), "invalid_client", "invalid client credentials")
		requireRefused(t, refresh(tok, jwtApp), "invalid_grant", "expired access/refresh token")
		requireRefused(t, refresh("5Aep861unknown", webApp, "web-secret"), "invalid_grant", "expired access/refresh token")
		requireRefused(t, refresh(tok, "3MVG9unknown"), "invalid_client_id", "client identifier invalid")
		for range 2 {
			a := refresh(tok, webApp, "web-secret")
			require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
			require.NotContains(t, a.fields, "refresh_token", "no rotation: the token stays")
			s, ok := sf.Session(a.str("access_token"))
			require.True(t, ok)
			require.Equal(t, dynamotest.SalesforceSession{Username: user, ClientID: webApp, GrantType: "refresh_token",
				IssuedAt: clock.Now(), LastUsed: clock.Now()}, s)
		}
		basic := postToken(t, sf, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, &[2]string{webApp, "web-secret"})
		require.Equal(t, http.StatusOK, basic.status, "body %s", basic.raw)
	})
	t.Run("an app without a secret", func(t *testing.T) {
		tok := sf.IssueRefreshToken("3MVG9public", user)
		require.Equal(t, http.StatusOK, refresh(tok, "3MVG9public").status)
	})
	t.Run("rotation", func(t *testing.T) {
		tok := sf.IssueRefreshToken("3MVG9rotating", user)
		a := refresh(tok, "3MVG9rotating", "r")
		require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
		next := a.str("refresh_token")
		require.NotEmpty(t, next)
		require.NotEqual(t, tok, next)
		requireRefused(t, refresh(tok, "3MVG9rotating", "r"), "invalid_grant", "expired access/refresh token")
		require.Equal(t, http.StatusOK, refresh(next, "3MVG9rotating", "r").status)
	})
	t.Run("a refused user", func(t *testing.T) {
		sf.AddUser("leaver@example.com")
		tok := sf.IssueRefreshToken(webApp, "leaver@example.com")
		sf.RefuseUser("leaver@example.com")
		requireRefused(t, refresh(tok, webApp, "web-secret"), "invalid_grant", "user hasn't approved this consumer")
	})
}

func TestSalesforceRefusesMalformedTokenRequests(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	post := func(path, contentType, body string) tokenAnswer {
		req, err := http.NewRequest(http.MethodPost, sf.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		return doToken(t, req)
	}
	const form = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, path, contentType, body string
		status                        int
		code                          string
	}{
		{"no grant type", "/services/oauth2/token", form, "assertion=x", 400, "unsupported_grant_type"},
		{"an unknown grant type", "/services/oauth2/token", form, "grant_type=password&username=u", 400, "unsupported_grant_type"},
		{"a JSON body", "/services/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"no content type", "/services/oauth2/token", "", "grant_type=client_credentials", 400, "invalid_request"},
		{"parameters in the URL", "/services/oauth2/token?client_secret=x", form, "grant_type=client_credentials", 400, "invalid_request"},
		{"a parameter twice", "/services/oauth2/token", form, "grant_type=client_credentials&client_id=a&client_id=b", 400, "invalid_request"},
		{"a parameter the grant does not take", "/services/oauth2/token", form, "grant_type=client_credentials&scope=api", 400, "invalid_request"},
		{"an xml answer", "/services/oauth2/token", form, "grant_type=client_credentials&format=xml", 400, "invalid_request"},
		{"another path", "/services/oauth2/authorize", form, "grant_type=client_credentials", 404, "not_found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := post(tt.path, tt.contentType, tt.body)
			require.Equal(t, tt.status, a.status, "body %s", a.raw)
			require.Equal(t, tt.code, a.str("error"))
			require.NotEmpty(t, a.str("error_description"))
		})
	}
	resp, err := http.Get(sf.TokenURL())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "POST", resp.Header.Get("Allow"))
	require.Equal(t, 9, sf.TokenRequests(), "every request to the token path counts, the other path does not")
	require.Len(t, sf.Requests(), 10)
	require.NotContains(t, fmt.Sprintf("%#v", sf.Requests()), "client_secret=x")
}

func TestSalesforceFailNextThenAnswers(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	sf.FailNext(2, http.StatusServiceUnavailable)
	sf.FailNext(1, http.StatusTooManyRequests)

	var statuses []int
	for range 4 {
		a := jwtGrant(t, sf, signJWT(t, appKey, rs256(), claimsFor(sf, clock.Now())))
		statuses = append(statuses, a.status)
	}
	require.Equal(t, []int{503, 503, 429, 200}, statuses)
	require.Equal(t, 4, sf.TokenRequests())
	require.Len(t, sf.Sessions(), 1, "a failed request issues no session")
	reqs := sf.Requests()
	require.Equal(t, 503, reqs[0].Status)
	require.Empty(t, reqs[0].GrantType, "a failed request is not handled")
}

func TestSalesforceSessionsExpireAfterInactivity(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	session := mintJWTSession(t, sf, clock.Now())
	issued := clock.Now()

	clock.Advance(2*time.Hour - time.Second)
	require.True(t, sf.UseSession(session), "live a second before the timeout")
	clock.Advance(2*time.Hour - time.Second)
	require.True(t, sf.UseSession(session), "a use starts the timeout again")
	used := clock.Now()
	clock.Advance(2 * time.Hour)
	s, ok := sf.Session(session)
	require.True(t, ok)
	require.Equal(t, dynamotest.SalesforceSession{Username: user, ClientID: jwtApp, GrantType: "urn:ietf:params:oauth:grant-type:jwt-bearer",
		IssuedAt: issued, LastUsed: used, Expired: true}, s)
	require.False(t, sf.UseSession(session), "expired 2 hours after its last use")
	require.False(t, sf.UseSession(sf.OrgID[:15]+"!AQunknown"), "a session the fake did not issue")

	short := newSalesforce(t, clock, dynamotest.WithSessionTimeout(15*time.Minute))
	s2 := mintJWTSession(t, short, clock.Now())
	clock.Advance(15 * time.Minute)
	require.False(t, short.UseSession(s2))
}

func TestSalesforceOptionsPanicOnMisuse(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	for name, f := range map[string]func(){
		"WithOrgID short":            func() { dynamotest.WithOrgID("00D123") },
		"WithOrgID not an org":       func() { dynamotest.WithOrgID("005000000000001") },
		"WithSessionTimeout zero":    func() { dynamotest.WithSessionTimeout(0) },
		"WithSalesforceClock nil":    func() { dynamotest.WithSalesforceClock(nil) },
		"WithAudience empty":         func() { dynamotest.WithAudience("") },
		"AddJWTApp twice":            func() { sf.AddJWTApp(jwtApp, &appKey.PublicKey) },
		"AddJWTApp not an RSA key":   func() { sf.AddJWTApp("3MVG9x", "key") },
		"AddUser twice":              func() { sf.AddUser(user) },
		"RefuseUser unknown":         func() { sf.RefuseUser("nobody") },
		"IssueRefreshToken unknown":  func() { sf.IssueRefreshToken("3MVG9unknown", user) },
		"FailNext not an error code": func() { sf.FailNext(1, 200) },
		"WithSalesforce nil":         func() { dynamotest.WithSalesforce(nil) },
	} {
		require.Panics(t, f, name)
	}
}

func TestSalesforceHoldNextKeepsATokenRequestInFlight(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	release := make(chan struct{})
	arrived := sf.HoldNext(release)
	answers := make(chan int, 1)
	go func() {
		resp, err := http.PostForm(sf.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {ccApp}, "client_secret": {ccSecret}})
		if err != nil {
			answers <- 0
			return
		}
		resp.Body.Close()
		answers <- resp.StatusCode
	}()
	receive(t, arrived)
	require.Equal(t, 1, sf.TokenRequests())
	select {
	case status := <-answers:
		t.Fatalf("answered while held: %d", status)
	default:
	}
	require.Empty(t, sf.Sessions(), "a held request is not handled yet")
	close(release)
	require.Equal(t, http.StatusOK, receive(t, answers))
	require.Len(t, sf.Sessions(), 1)

	// A request held when the fake closes gets no answer.
	arrived = sf.HoldNext(make(chan struct{}))
	errs := make(chan error, 1)
	go func() {
		resp, err := http.PostForm(sf.TokenURL(), url.Values{"grant_type": {"client_credentials"}})
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	receive(t, arrived)
	sf.Close()
	require.Error(t, receive(t, errs))
}

// Sessions lists sessions in the order of issue, also those issued at one
// instant of a clock that does not move.
func TestSalesforceSessionsInOrderOfIssue(t *testing.T) {
	t.Parallel()
	sf := newSalesforce(t, newClock())
	var want []string
	for i := range 8 {
		app := fmt.Sprintf("3MVG9order%d", i)
		sf.AddClientCredentialsApp(app, "s", user)
		a := postToken(t, sf, url.Values{"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {"s"}}, nil)
		require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
		want = append(want, app)
	}
	var got []string
	for _, s := range sf.Sessions() {
		got = append(got, s.ClientID)
	}
	require.Equal(t, want, got)
}

// A fake login host printed with any fmt verb, as a test's failure message
// may print it, shows where it is, not the sessions, refresh tokens and
// consumer secrets it holds (nor reads them unlocked while it serves).
func TestSalesforcePrintsNoSecret(t *testing.T) {
	t.Parallel()
	sf := newSalesforce(t, newClock())
	a := postToken(t, sf, url.Values{"grant_type": {"client_credentials"}, "client_id": {ccApp}, "client_secret": {ccSecret}}, nil)
	require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
	session := a.str("access_token")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		text := fmt.Sprintf(verb, sf)
		require.NotContains(t, text, session[16:], verb)
		require.NotContains(t, text, ccSecret, verb)
		require.Contains(t, text, sf.URL, verb)
	}
}
