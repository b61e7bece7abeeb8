package salesforce_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dynamokit/dynamo/salesforce"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Distinctive credentials: a test that finds a piece of one in an error,
// a log line or a printed value has found a leak.
const (
	testClientID     = "3MVG9-consumer-key-not-secret"
	testUsername     = "integration@example.com"
	testClientSecret = "CSECRET-s3cr3t-Hb7Tq2Lw9Xz4Km"
	testRefreshToken = "REFRESH-s3cr3t-Pq8Vn3Yc6Rd1Jf"
	testOrg          = "00D5g000004QpXy"
	testOrg18        = "00D5g000004QpXyEAK"
	testUserID       = "005xx000001Sv6AAAE"
	testInstanceURL  = "https://example.my.salesforce.com"
	// accessTokenMark is in every access token the test endpoint issues.
	accessTokenMark = "ATOKEN-s3cr3t-Wm4Gz7Kb2Nq9"
)

// testKey is an RSA key made for the test run, in PKCS#1 and PKCS#8 PEM.
var testKey = sync.OnceValue(func() (k struct {
	priv         *rsa.PrivateKey
	pkcs1, pkcs8 []byte
}) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	k.priv = priv
	k.pkcs1 = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		panic(err)
	}
	k.pkcs8 = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return k
})

// fakeClock is a source's clock in tests: waits return at once, move the
// clock on and are recorded; Advance moves it by hand.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func (c *fakeClock) option() salesforce.Option { return salesforce.WithClock(c.Now, c.sleep) }

// tokenRequest is one request the test endpoint received.
type tokenRequest struct {
	Path   string
	Form   map[string][]string
	Header http.Header
	Claims map[string]any // a JWT assertion's claims, verified
	Alg    string         // a JWT assertion's header alg
}

// tokenEndpoint is a token endpoint of the tests' own, for what
// dynamotest's fake login host does not do: echo what it was sent, hold an
// answer, or be reached over a failing connection. It parses the form,
// verifies a JWT assertion itself (RS256 against the test key's
// public half, iss, sub, aud, exp at most 3 minutes ahead, no scope),
// checks client credentials and refresh tokens, and issues sessions of
// testOrg. Its Fail queue answers with given statuses first.
type tokenEndpoint struct {
	t        *testing.T
	srv      *httptest.Server
	audience string // the aud expected; the server's URL when empty
	rotate   bool   // rotate the refresh token on each refresh
	echo     bool   // refuse every request, echoing its form and a session

	mu       sync.Mutex
	requests []tokenRequest
	fail     []int    // statuses to answer with first
	refusal  string   // when set, every answer is a 400 with this body
	refresh  string   // the refresh token currently valid
	issued   []string // the access tokens issued
	// before, when set, runs before each answer (outside the lock).
	before func()
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	e := &tokenEndpoint{t: t, refresh: testRefreshToken}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// URL is the endpoint's login URL.
func (e *tokenEndpoint) URL() string { return e.srv.URL }

func (e *tokenEndpoint) Requests() []tokenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]tokenRequest(nil), e.requests...)
}

func (e *tokenEndpoint) Issued() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.issued...)
}

// Fail makes the next answers these statuses, one each.
func (e *tokenEndpoint) Fail(statuses ...int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = append(e.fail, statuses...)
}

// Refuse makes every answer a 400 with Salesforce's error and description.
func (e *tokenEndpoint) Refuse(code, description string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	data, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	e.refusal = string(data)
}

func (e *tokenEndpoint) refuse(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/services/oauth2/token" {
		e.t.Errorf("token endpoint: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		e.t.Errorf("token endpoint: form: %v", err)
	}
	req := tokenRequest{Path: r.URL.Path, Form: r.PostForm, Header: r.Header.Clone()}
	var claimErr string
	if a := r.PostForm.Get("assertion"); a != "" {
		req.Alg, req.Claims, claimErr = e.verifyJWT(a)
	}
	if e.before != nil {
		e.before()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, req)
	if len(e.fail) > 0 {
		status := e.fail[0]
		e.fail = e.fail[1:]
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body>%d maintenance</body></html>", status)
		return
	}
	if e.echo {
		var echo []string
		for k, vs := range r.PostForm {
			echo = append(echo, k+"="+strings.Join(vs, ","))
		}
		e.refuse(w, "invalid_client", "refused "+strings.Join(echo, " ")+" session "+testOrg+"!"+accessTokenMark+"-echo")
		return
	}
	if e.refusal != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, e.refusal)
		return
	}
	form := r.PostForm
	answer := map[string]any{}
	switch form.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if claimErr != "" {
			e.refuse(w, "invalid_grant", claimErr)
			return
		}
	case "client_credentials":
		if form.Get("client_id") != testClientID || form.Get("client_secret") != testClientSecret {
			e.refuse(w, "invalid_client", "invalid client credentials")
			return
		}
	case "refresh_token":
		if form.Get("client_id") != testClientID || form.Get("refresh_token") != e.refresh {
			e.refuse(w, "invalid_grant", "expired access/refresh token")
			return
		}
		if e.rotate {
			e.refresh = fmt.Sprintf("%s-rotated-%d", testRefreshToken, len(e.requests))
			answer["refresh_token"] = e.refresh
		}
	default:
		e.refuse(w, "unsupported_grant_type", "grant type not supported")
		return
	}
	token := fmt.Sprintf("%s!%s-%03d-%s", testOrg, accessTokenMark, len(e.issued)+1, randomText())
	e.issued = append(e.issued, token)
	answer["access_token"] = token
	answer["instance_url"] = testInstanceURL
	answer["id"] = "https://login.salesforce.com/id/" + testOrg18 + "/" + testUserID
	answer["token_type"] = "Bearer"
	answer["scope"] = "api"
	answer["issued_at"] = "1741000000000"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

// verifyJWT checks an assertion as Salesforce would, and returns its
// header's alg, its claims, and what is wrong with it ("" when nothing).
func (e *tokenEndpoint) verifyJWT(assertion string) (string, map[string]any, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", nil, "not a JWT"
	}
	var header struct {
		Alg, Typ string
	}
	claims := map[string]any{}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return "", nil, "malformed JWT"
	}
	if header.Alg != "RS256" {
		return header.Alg, claims, "alg must be RS256"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&testKey().priv.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return header.Alg, claims, "invalid signature"
	}
	aud := e.audience
	if aud == "" {
		aud = e.srv.URL
	}
	exp, _ := claims["exp"].(float64)
	now := float64(time.Now().Unix())
	switch {
	case claims["iss"] != testClientID:
		return header.Alg, claims, "invalid client identifier"
	case claims["sub"] != testUsername:
		return header.Alg, claims, "user hasn't approved this consumer"
	case claims["aud"] != aud:
		return header.Alg, claims, "audience is invalid"
	case exp <= now || exp > now+180:
		return header.Alg, claims, "expiration is invalid"
	case claims["scope"] != nil:
		return header.Alg, claims, "scope claim not accepted"
	}
	return header.Alg, claims, ""
}

// jwtSource is a JWT bearer source against e.
func jwtSource(t *testing.T, e *tokenEndpoint, opts ...salesforce.Option) *salesforce.Source {
	t.Helper()
	src, err := salesforce.JWTBearer(salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: testKey().pkcs1, LoginURL: e.URL()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// leaked returns the name of the secret that text holds a piece of, or "".
func leaked(text string, issued []string) string {
	named := map[string]string{
		"client secret": testClientSecret,
		"refresh token": testRefreshToken,
		"access token":  accessTokenMark,
		"private key":   string(testKey().pkcs1[40:200]),
		"assertion":     "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3Mi",
		"PKCS#8 key":    string(testKey().pkcs8[40:200]),
	}
	for i, tok := range issued {
		named[fmt.Sprintf("access token %d", i)] = tok[16:]
	}
	for name, secret := range named {
		for i := 0; i+12 <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+12]) {
				return name
			}
		}
	}
	return ""
}

// assertNoSecret fails the test when v, printed with any fmt verb, logged
// through slog (text and JSON), or as an error its message and those it
// wraps, holds a piece of a secret.
func assertNoSecret(t *testing.T, what string, v any, issued ...string) {
	t.Helper()
	var texts []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		texts = append(texts, fmt.Sprintf(verb, v))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("v", "v", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("v", "v", v)
	texts = append(texts, buf.String())
	if err, ok := v.(error); ok {
		for e := err; e != nil; {
			texts = append(texts, e.Error())
			u, ok := e.(interface{ Unwrap() error })
			if !ok {
				break
			}
			e = u.Unwrap()
		}
	}
	for _, text := range texts {
		if name := leaked(text, issued); name != "" {
			t.Errorf("%s shows the %s", what, name)
			return
		}
	}
}

// randomText is 10 random letters.
func randomText() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(base64.RawURLEncoding.EncodeToString(b))[:10]
}
