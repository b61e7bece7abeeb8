package dynamotest_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestSalesforceJWTBearerAnswersAsSalesforce(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	userID := sf.AddUser("second@example.com")
	key, _ := testKeys(t)
	claims := claimsFor(sf, clock.Now())
	claims["sub"] = "second@example.com"
	assertion := signJWT(t, key, rs256(), claims)

	a := jwtGrant(t, sf, assertion)

	require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
	require.ElementsMatch(t, []string{"access_token", "instance_url", "id", "token_type", "scope", "issued_at", "signature"}, keys(a.fields),
		"no expires_in and no refresh_token, as Salesforce answers this flow")
	require.Regexp(t, `^`+sf.OrgID[:15]+`![A-Za-z0-9._]{96}$`, a.str("access_token"))
	require.Equal(t, sf.URL, a.str("instance_url"))
	require.Equal(t, sf.URL+"/id/"+sf.OrgID+"/"+userID, a.str("id"))
	require.Equal(t, "Bearer", a.str("token_type"))
	require.Equal(t, "api", a.str("scope"))
	require.Equal(t, strconv.FormatInt(clock.Now().UnixMilli(), 10), a.str("issued_at"))
	sig, err := base64.StdEncoding.DecodeString(a.str("signature"))
	require.NoError(t, err)
	require.Len(t, sig, 32)

	s, ok := sf.Session(a.str("access_token"))
	require.True(t, ok)
	require.Equal(t, dynamotest.SalesforceSession{
		Username: "second@example.com", ClientID: jwtApp, GrantType: "urn:ietf:params:oauth:grant-type:jwt-bearer",
		IssuedAt: clock.Now(), LastUsed: clock.Now(),
	}, s)

	reqs := sf.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, dynamotest.TokenRequest{
		Method: http.MethodPost, Path: "/services/oauth2/token",
		GrantType: "urn:ietf:params:oauth:grant-type:jwt-bearer",
		ClientID:  jwtApp, Username: "second@example.com", Status: http.StatusOK,
	}, reqs[0])
	require.Equal(t, 1, sf.TokenRequests())
	seen := fmt.Sprintf("%#v %#v", reqs, sf.Sessions())
	require.NotContains(t, seen, a.str("access_token"))
	require.NotContains(t, seen, strings.Split(assertion, ".")[2])
}

func TestSalesforceJWTBearerChecksEveryClaim(t *testing.T) {
	clock := newClock()
	now := clock.Now()
	appKey, otherKey := testKeys(t)
	const (
		invalidGrant = "invalid_grant"
		badClient    = "invalid_client_id"
	)
	tests := []struct {
		name       string
		header     map[string]any
		claims     func(c map[string]any)
		key        bool // sign with a key no app holds
		code, desc string
	}{
		{name: "alg HS256", header: map[string]any{"alg": "HS256"}, code: invalidGrant, desc: "invalid assertion"},
		{name: "alg none", header: map[string]any{"alg": "none"}, code: invalidGrant, desc: "invalid assertion"},
		{name: "alg missing", header: map[string]any{"typ": "JWT"}, code: invalidGrant, desc: "invalid assertion"},
		{name: "signed with another key", key: true, code: invalidGrant, desc: "invalid assertion"},
		{name: "iss unknown", claims: func(c map[string]any) { c["iss"] = "3MVG9unknown" }, code: badClient, desc: "client identifier invalid"},
		{name: "iss missing", claims: func(c map[string]any) { delete(c, "iss") }, code: badClient, desc: "client identifier invalid"},
		{name: "iss of an app without a key", claims: func(c map[string]any) { c["iss"] = ccApp }, code: invalidGrant, desc: "invalid assertion"},
		{name: "aud of another host", claims: func(c map[string]any) { c["aud"] = "https://login.salesforce.com" }, code: invalidGrant, desc: "audience is invalid"},
		{name: "aud missing", claims: func(c map[string]any) { delete(c, "aud") }, code: invalidGrant, desc: "audience is invalid"},
		{name: "aud as a list", claims: func(c map[string]any) { c["aud"] = []string{c["aud"].(string)} }, code: invalidGrant, desc: "audience is invalid"},
		{name: "exp missing", claims: func(c map[string]any) { delete(c, "exp") }, code: invalidGrant, desc: "invalid assertion"},
		{name: "exp as a string", claims: func(c map[string]any) { c["exp"] = strconv.FormatInt(now.Add(time.Minute).Unix(), 10) }, code: invalidGrant, desc: "invalid assertion"},
		{name: "exp passed", claims: func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }, code: invalidGrant, desc: "expired authorization code"},
		{name: "exp now", claims: func(c map[string]any) { c["exp"] = float64(now.UnixNano()) / 1e9 }, code: invalidGrant, desc: "expired authorization code"},
		{name: "exp over 3 minutes ahead", claims: func(c map[string]any) { c["exp"] = now.Add(3*time.Minute + time.Second).Unix() }, code: invalidGrant, desc: "expiration time is more than 3 minutes ahead"},
		{name: "sub unknown", claims: func(c map[string]any) { c["sub"] = "nobody@example.com" }, code: invalidGrant, desc: "user hasn't approved this consumer"},
		{name: "sub missing", claims: func(c map[string]any) { delete(c, "sub") }, code: invalidGrant, desc: "user hasn't approved this consumer"},
		{name: "sub not pre-authorised for the app", claims: func(c map[string]any) { c["sub"] = "other-app-only@example.com" }, code: invalidGrant, desc: "user hasn't approved this consumer"},
		{name: "sub refused", claims: func(c map[string]any) { c["sub"] = "refused@example.com" }, code: invalidGrant, desc: "user hasn't approved this consumer"},
	}
	sf := newSalesforce(t, clock)
	sf.AddUser("other-app-only@example.com", ccApp)
	sf.AddUser("refused@example.com")
	sf.RefuseUser("refused@example.com")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if header == nil {
				header = rs256()
			}
			claims := claimsFor(sf, now)
			if tt.claims != nil {
				tt.claims(claims)
			}
			key := appKey
			if tt.key {
				key = otherKey
			}
			a := jwtGrant(t, sf, signJWT(t, key, header, claims))
			requireRefused(t, a, tt.code, tt.desc)
			last := sf.Requests()[len(sf.Requests())-1]
			require.Equal(t, tt.code, last.Error)
			require.Equal(t, tt.desc, last.ErrorDescription)
		})
	}
	require.Empty(t, sf.Sessions(), "no refused assertion issued a session")
}

func TestSalesforceJWTBearerRefusesMalformedAssertions(t *testing.T) {
	clock := newClock()
	sf := newSalesforce(t, clock)
	key, _ := testKeys(t)
	good := signJWT(t, key, rs256(), claimsFor(sf, clock.Now()))
	parts := strings.Split(good, ".")
	for name, assertion := range map[string]string{
		"empty":                "",
		"two parts":            parts[0] + "." + parts[1],
		"four parts":           good + ".x",
		"padded base64":        parts[0] + "=." + parts[1] + "." + parts[2],
		"standard base64":      strings.NewReplacer("-", "+", "_", "/").Replace(good),
		"header not JSON":      base64.RawURLEncoding.EncodeToString([]byte("RS256")) + "." + parts[1] + "." + parts[2],
		"claims not an object": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`["iss"]`)) + "." + parts[2],
		"signature empty":      parts[0] + "." + parts[1] + ".",
		"claims changed":       parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+jwtApp+`"}`)) + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) {
			if name == "standard base64" && !strings.ContainsAny(good, "-_") {
				t.Skip("the assertion has no character that differs")
			}
			a := jwtGrant(t, sf, assertion)
			require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.raw)
			require.Contains(t, []string{"invalid_grant", "invalid_client_id"}, a.str("error"))
		})
	}
	require.Equal(t, http.StatusOK, jwtGrant(t, sf, good).status, "the unaltered assertion is accepted")
}

func TestSalesforceJWTBearerAccepts(t *testing.T) {
	clock := newClock()
	now := clock.Now()
	key, _ := testKeys(t)

	t.Run("exp exactly 3 minutes ahead, with iat and prn", func(t *testing.T) {
		sf := newSalesforce(t, clock)
		claims := claimsFor(sf, now)
		claims["exp"] = now.Add(3 * time.Minute).Unix()
		claims["iat"] = now.Unix()
		claims["prn"] = user
		require.Equal(t, http.StatusOK, jwtGrant(t, sf, signJWT(t, key, map[string]any{"alg": "RS256", "typ": "JWT"}, claims)).status)
	})
	t.Run("an app registered with its certificate", func(t *testing.T) {
		sf := newSalesforce(t, clock)
		sf.AddJWTApp("3MVG9cert", selfSigned(t, key))
		claims := claimsFor(sf, now)
		claims["iss"] = "3MVG9cert"
		require.Equal(t, http.StatusOK, jwtGrant(t, sf, signJWT(t, key, rs256(), claims)).status)
	})
	t.Run("the configured audience, and only it", func(t *testing.T) {
		sf := newSalesforce(t, clock, dynamotest.WithAudience("https://login.salesforce.com"))
		claims := claimsFor(sf, now)
		requireRefused(t, jwtGrant(t, sf, signJWT(t, key, rs256(), claims)), "invalid_grant", "audience is invalid")
		claims["aud"] = "https://login.salesforce.com"
		require.Equal(t, http.StatusOK, jwtGrant(t, sf, signJWT(t, key, rs256(), claims)).status)
	})
	t.Run("a user pre-authorised for this app alone", func(t *testing.T) {
		sf := newSalesforce(t, clock)
		sf.AddUser("jwt-only@example.com", jwtApp)
		claims := claimsFor(sf, now)
		claims["sub"] = "jwt-only@example.com"
		require.Equal(t, http.StatusOK, jwtGrant(t, sf, signJWT(t, key, rs256(), claims)).status)
	})
	t.Run("the org and instance configured", func(t *testing.T) {
		sf := newSalesforce(t, clock, dynamotest.WithOrgID("00D5g000004ABCD"), dynamotest.WithInstanceURL("https://acme.my.salesforce.com"))
		require.Equal(t, "00D5g000004ABCDEA4", sf.OrgID)
		a := jwtGrant(t, sf, signJWT(t, key, rs256(), claimsFor(sf, now)))
		require.True(t, strings.HasPrefix(a.str("access_token"), "00D5g000004ABCD!"), "session of the org")
		require.Equal(t, "https://acme.my.salesforce.com", a.str("instance_url"))
	})
}
