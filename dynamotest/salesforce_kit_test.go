package dynamotest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// The Salesforce test kit: JWT assertions made with the standard library, and token
// requests sent with plain net/http.

const (
	jwtApp   = "3MVG9jwt.consumer.key"
	ccApp    = "3MVG9cc.consumer.key"
	ccSecret = "cc-secret+/=&" // characters that basic authentication must escape
	webApp   = "3MVG9web.consumer.key"
	user     = "integration@example.com"
)

var (
	keysOnce sync.Once
	appKey   *rsa.PrivateKey // the registered app's key
	otherKey *rsa.PrivateKey // a key no app has
)

// testKeys returns the app's RSA key and another one, made once per test binary.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return appKey, otherKey
}

// selfSigned returns a certificate for key, as uploaded to a connected app.
func selfSigned(t *testing.T, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "jwt"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

// signJWT makes a compact JWS of header and claims, signed RS256 with key.
func signJWT(t testing.TB, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// rs256 is the header of a Salesforce assertion.
func rs256() map[string]any { return map[string]any{"alg": "RS256"} }

// claimsFor returns the claims Salesforce wants, expiring 2 minutes after now.
func claimsFor(sf *dynamotest.Salesforce, now time.Time) map[string]any {
	return map[string]any{
		"iss": jwtApp,
		"sub": user,
		"aud": sf.URL,
		"exp": now.Add(2 * time.Minute).Unix(),
	}
}

// tokenAnswer is a token endpoint's JSON answer, granted or refused.
type tokenAnswer struct {
	status int
	fields map[string]any
	raw    []byte
}

func (a tokenAnswer) str(k string) string {
	s, _ := a.fields[k].(string)
	return s
}

// postToken posts form to the token endpoint; basic, when not nil, holds the user
// and password of HTTP basic authentication.
func postToken(t testing.TB, sf *dynamotest.Salesforce, form url.Values, basic *[2]string) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sf.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return doToken(t, req)
}

func doToken(t testing.TB, req *http.Request) tokenAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := tokenAnswer{status: resp.StatusCode, raw: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(body, &a.fields), "body %s", body)
	}
	return a
}

// jwtGrant posts an assertion with the JWT bearer grant.
func jwtGrant(t testing.TB, sf *dynamotest.Salesforce, assertion string) tokenAnswer {
	t.Helper()
	return postToken(t, sf, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}, nil)
}

// requireRefused asserts Salesforce's refusal: 400 with error and description.
func requireRefused(t testing.TB, a tokenAnswer, code, desc string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.raw)
	require.Equal(t, map[string]any{"error": code, "error_description": desc}, a.fields)
}

// newSalesforce starts a fake login host on clock with a JWT app, a client
// credentials app, a web app with a secret, and the user, pre-authorised for all.
func newSalesforce(t *testing.T, clock *fakeClock, opts ...dynamotest.SalesforceOption) *dynamotest.Salesforce {
	t.Helper()
	key, _ := testKeys(t)
	sf := dynamotest.NewSalesforce(append([]dynamotest.SalesforceOption{dynamotest.WithSalesforceClock(clock.Now)}, opts...)...)
	t.Cleanup(sf.Close)
	sf.AddJWTApp(jwtApp, &key.PublicKey)
	sf.AddClientCredentialsApp(ccApp, ccSecret, user)
	sf.AddApp(dynamotest.App{ClientID: webApp, ClientSecret: "web-secret"})
	sf.AddUser(user)
	return sf
}

// mintJWTSession returns a session minted with the JWT bearer flow.
func mintJWTSession(t testing.TB, sf *dynamotest.Salesforce, now time.Time) string {
	t.Helper()
	key, _ := testKeys(t)
	a := jwtGrant(t, sf, signJWT(t, key, rs256(), claimsFor(sf, now)))
	require.Equal(t, http.StatusOK, a.status, "body %s", a.raw)
	return a.str("access_token")
}
