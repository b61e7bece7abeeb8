package salesforce_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

// The apps registered with the fake login host, besides testClientID's JWT
// bearer app.
const (
	ccClientID  = "3MVG9-client-credentials-app"
	webClientID = "3MVG9-web-server-app"
)

// fakeLogin is dynamotest's fake Salesforce login host, set up for the
// tests: testOrg18's sessions on testInstanceURL, a JWT bearer app with the
// test key, a client credentials app running as testUsername, a web app
// that rotates refresh tokens, and the user testUsername.
type fakeLogin struct {
	*dynamotest.Salesforce
	UserID string
}

func newFakeLogin(t *testing.T, opts ...dynamotest.SalesforceOption) *fakeLogin {
	t.Helper()
	sf := dynamotest.NewSalesforce(append([]dynamotest.SalesforceOption{
		dynamotest.WithOrgID(testOrg18), dynamotest.WithInstanceURL(testInstanceURL),
	}, opts...)...)
	t.Cleanup(sf.Close)
	sf.AddJWTApp(testClientID, &testKey().priv.PublicKey)
	sf.AddClientCredentialsApp(ccClientID, testClientSecret, testUsername)
	sf.AddApp(dynamotest.App{ClientID: webClientID, ClientSecret: testClientSecret, RotateRefreshTokens: true})
	return &fakeLogin{Salesforce: sf, UserID: sf.AddUser(testUsername)}
}

// wire is a transport that records what crossed the wire to a token
// endpoint: each request's form, and each access token answered. hold,
// when set, runs before a request is sent.
type wire struct {
	base *http.Transport
	hold func()

	mu     sync.Mutex
	forms  []url.Values
	tokens []string
}

func newWire(t *testing.T) *wire {
	w := &wire{base: &http.Transport{}}
	t.Cleanup(w.base.CloseIdleConnections)
	return w
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	w.mu.Lock()
	w.forms = append(w.forms, form)
	w.mu.Unlock()
	if w.hold != nil {
		w.hold()
	}
	resp, err := w.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(answer, &tok) == nil && tok.AccessToken != "" {
		w.mu.Lock()
		w.tokens = append(w.tokens, tok.AccessToken)
		w.mu.Unlock()
	}
	return resp, nil
}

// Forms returns the forms sent, in order.
func (w *wire) Forms() []url.Values {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]url.Values(nil), w.forms...)
}

// Tokens returns the access tokens answered, in order.
func (w *wire) Tokens() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.tokens...)
}

// option has a source send its token requests through w.
func (w *wire) option() salesforce.Option {
	return salesforce.WithHTTPClient(&http.Client{Transport: w, Timeout: time.Minute})
}

// jwtFrom is a JWT bearer source against the fake login host, through w.
func jwtFrom(t *testing.T, sf *fakeLogin, w *wire, opts ...salesforce.Option) *salesforce.Source {
	t.Helper()
	src, err := salesforce.JWTBearer(salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: testKey().pkcs1, LoginURL: sf.URL}, append([]salesforce.Option{w.option()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}
