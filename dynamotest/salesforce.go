package dynamotest

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// tokenPath is the path of Salesforce's OAuth 2.0 token endpoint.
const tokenPath = "/services/oauth2/token"

// Salesforce is a fake Salesforce login host: an OAuth 2.0 token endpoint that issues
// sessions of one org to the connected apps and users registered with it, for the
// JWT bearer, client credentials and refresh token flows. It runs its own loopback
// HTTP server at URL; its token endpoint is URL + "/services/oauth2/token". Create
// one with NewSalesforce, register apps and users, and Close it when done.
//
// A Salesforce is safe for concurrent use. Its registration helpers panic on
// misuse, such as an empty or duplicate name, as do its options given an invalid
// value.
type Salesforce struct {
	// URL is the login host's base URL, such as http://127.0.0.1:port. It is also
	// the default audience of a JWT assertion, the default instance URL of a
	// session, and the start of the identity URL in every token answer.
	URL string
	// OrgID is the 18-character ID ("00D…") of the org whose sessions the fake
	// issues; every session ID starts with its first 15 characters and "!".
	OrgID string

	cfg       salesforceConfig
	srv       *httptest.Server
	signKey   []byte // signs answers of apps without a consumer secret
	done      chan struct{}
	closeOnce sync.Once

	mu            sync.Mutex
	apps          map[string]*sfApp
	users         map[string]*sfUser
	sessions      map[string]*sfSession
	refreshTokens map[string]*sfRefreshToken
	requests      []*TokenRequest
	tokenRequests int
	failures      []int // statuses the next token requests are answered with
	holds         []tokenHold
}

// defaultSessionTimeout is Salesforce's default session timeout.
const defaultSessionTimeout = 2 * time.Hour

// defaultOrgID15 is the org a Salesforce issues sessions of unless WithOrgID says
// otherwise: the org of a Server's default tenant.
const defaultOrgID15 = "00D000000000001"

// salesforceConfig holds what the SalesforceOptions set.
type salesforceConfig struct {
	now            func() time.Time
	orgID          string
	audience       string // "" means URL
	instanceURL    string // "" means URL
	sessionTimeout time.Duration
}

// SalesforceOption configures a Salesforce created by NewSalesforce. An option given
// an invalid value panics when it is called, naming itself; NewSalesforce skips nil
// options.
type SalesforceOption func(*salesforceConfig)

// WithSalesforceClock replaces time.Now as the fake's clock. The clock judges the
// exp claim of a JWT assertion, stamps issued_at, and decides when a session has
// been inactive for longer than its timeout. Give a Server that uses the fake's
// sessions (WithSalesforce) the same clock. WithSalesforceClock panics if now is nil.
func WithSalesforceClock(now func() time.Time) SalesforceOption {
	if now == nil {
		panic("dynamotest: WithSalesforceClock: nil clock")
	}
	return func(c *salesforceConfig) { c.now = now }
}

// WithOrgID sets the org whose sessions the fake issues, as a 15- or 18-character
// org ID starting "00D"; a 15-character ID gets its 3-character checksum added. By
// default the org is "00D000000000001EAA", the org of a Server's default tenant
// "00D000000000001AAA" (the two share their first 15 characters, which is what
// names an org). WithOrgID panics if orgID is not an org ID.
func WithOrgID(orgID string) SalesforceOption {
	if !isOrgID(orgID) {
		panic(fmt.Sprintf("dynamotest: WithOrgID: %q is not a 15- or 18-character org ID starting 00D", orgID))
	}
	return func(c *salesforceConfig) { c.orgID = orgID }
}

// WithAudience sets the audience a JWT assertion's aud claim must equal, such as
// "https://login.salesforce.com" or "https://test.salesforce.com". By default it is
// the fake's own URL, as for a My Domain login host. WithAudience panics if aud is
// empty.
func WithAudience(aud string) SalesforceOption {
	if aud == "" {
		panic("dynamotest: WithAudience: empty audience")
	}
	return func(c *salesforceConfig) { c.audience = aud }
}

// WithInstanceURL sets the instance_url of every token answer, the URL a client
// sends to Dynamo as the integration's serverURL. By default it is the fake's own
// URL. WithInstanceURL panics if u is empty.
func WithInstanceURL(u string) SalesforceOption {
	if u == "" {
		panic("dynamotest: WithInstanceURL: empty URL")
	}
	return func(c *salesforceConfig) { c.instanceURL = u }
}

// WithSessionTimeout sets how long a session lives without being used; each use
// starts it again. By default 2 hours, Salesforce's default (Salesforce offers 15
// minutes to 24 hours; the fake takes any positive duration). WithSessionTimeout
// panics if d is not positive.
func WithSessionTimeout(d time.Duration) SalesforceOption {
	if d <= 0 {
		panic(fmt.Sprintf("dynamotest: WithSessionTimeout: timeout %v is not positive", d))
	}
	return func(c *salesforceConfig) { c.sessionTimeout = d }
}

// NewSalesforce starts a fake Salesforce login host on a loopback address, with no
// apps and no users. Options are applied in order; nil ones are skipped.
func NewSalesforce(opts ...SalesforceOption) *Salesforce {
	cfg := salesforceConfig{
		now:            time.Now,
		orgID:          defaultOrgID15,
		sessionTimeout: defaultSessionTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	sf := &Salesforce{
		OrgID:         orgID18(cfg.orgID),
		cfg:           cfg,
		signKey:       []byte(randomHex(32)),
		done:          make(chan struct{}),
		apps:          make(map[string]*sfApp),
		users:         make(map[string]*sfUser),
		sessions:      make(map[string]*sfSession),
		refreshTokens: make(map[string]*sfRefreshToken),
	}
	// The URL is set before the server starts, so that handlers read it safely.
	sf.srv = httptest.NewUnstartedServer(http.HandlerFunc(sf.serveHTTP))
	sf.URL = "http://" + sf.srv.Listener.Addr().String()
	sf.srv.Start()
	return sf
}

// String says where the login host is and whose sessions it issues, without the
// sessions, refresh tokens and consumer secrets it holds.
func (sf *Salesforce) String() string {
	if sf == nil {
		return "dynamotest.Salesforce(nil)"
	}
	return fmt.Sprintf("dynamotest.Salesforce{URL:%s OrgID:%s}", sf.URL, sf.OrgID)
}

// Format implements fmt.Formatter: every verb prints String, so that no verb
// reaches the secrets it holds, or reads them while the host serves.
func (sf *Salesforce) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", sf.String())
		return
	}
	fmt.Fprint(f, sf.String())
}

// Close shuts the login host down. Close may be called more than once. Sessions the
// fake issued stay known to a Server that uses them.
func (sf *Salesforce) Close() {
	sf.closeOnce.Do(func() {
		close(sf.done)
		sf.srv.CloseClientConnections()
		sf.srv.Close()
	})
}

// TokenURL returns the token endpoint's URL: URL + "/services/oauth2/token".
func (sf *Salesforce) TokenURL() string { return sf.URL + tokenPath }

// audience is the aud a JWT assertion must carry.
func (sf *Salesforce) audience() string {
	if sf.cfg.audience != "" {
		return sf.cfg.audience
	}
	return sf.URL
}

// instanceURL is the instance_url of every token answer.
func (sf *Salesforce) instanceURL() string {
	if sf.cfg.instanceURL != "" {
		return sf.cfg.instanceURL
	}
	return sf.URL
}

// App is a connected app as registered with the fake. Which flows it allows follows
// from what it holds: PublicKey allows the JWT bearer flow, RunAs (with
// ClientSecret) the client credentials flow, and every app the refresh token flow
// for the refresh tokens IssueRefreshToken gives it.
type App struct {
	// ClientID is the app's consumer key; never empty.
	ClientID string
	// ClientSecret is the app's consumer secret. When set, the client credentials
	// flow requires it and so does the refresh token flow, as with Salesforce's
	// "Require Secret for Refresh Token Flow".
	ClientSecret string
	// PublicKey verifies the signatures of the app's JWT assertions: an
	// *rsa.PublicKey, or the *x509.Certificate uploaded to the app that holds one.
	// Nil means the app does not take the JWT bearer flow.
	PublicKey crypto.PublicKey
	// RunAs is the username of the user that the client credentials flow issues
	// sessions for. Empty means the app does not take the flow. The user must be
	// registered by the time the token is requested.
	RunAs string
	// RotateRefreshTokens makes every refresh token answer carry a new refresh
	// token and revokes the one that was used.
	RotateRefreshTokens bool
}

// sfApp is a registered app; every access holds Salesforce.mu.
type sfApp struct {
	App
	key *rsa.PublicKey
}

// sfUser is a registered user; every access holds Salesforce.mu.
type sfUser struct {
	id       string
	username string
	apps     map[string]bool // the apps the user is pre-authorised for; nil means all
	refused  bool
}

// approved reports whether the user may have sessions through the app.
func (u *sfUser) approved(clientID string) bool {
	return !u.refused && (u.apps == nil || u.apps[clientID])
}

// AddApp registers a connected app. It panics if the client ID is empty or taken,
// or if PublicKey is neither nil, an *rsa.PublicKey, nor an *x509.Certificate that
// holds one.
func (sf *Salesforce) AddApp(app App) {
	if app.ClientID == "" {
		panic("dynamotest: AddApp: empty client ID")
	}
	a := &sfApp{App: app}
	if app.PublicKey != nil {
		a.key = rsaKey("AddApp", app.PublicKey)
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if _, taken := sf.apps[app.ClientID]; taken {
		panic(fmt.Sprintf("dynamotest: AddApp: client ID %q registered twice", app.ClientID))
	}
	sf.apps[app.ClientID] = a
}

// AddJWTApp registers a connected app for the JWT bearer flow: clientID is its
// consumer key and pub the *rsa.PublicKey, or the *x509.Certificate, that verifies
// its assertions. It is AddApp with only those two set, and panics as AddApp does.
func (sf *Salesforce) AddJWTApp(clientID string, pub crypto.PublicKey) {
	if pub == nil {
		panic("dynamotest: AddJWTApp: nil public key")
	}
	sf.AddApp(App{ClientID: clientID, PublicKey: pub})
}

// AddClientCredentialsApp registers a connected app for the client credentials flow:
// its consumer key and secret, and the username of the user it runs as. It is
// AddApp with those three set, and panics as AddApp does, or if the secret or the
// username is empty.
func (sf *Salesforce) AddClientCredentialsApp(clientID, clientSecret, runAs string) {
	if clientSecret == "" {
		panic("dynamotest: AddClientCredentialsApp: empty client secret")
	}
	if runAs == "" {
		panic("dynamotest: AddClientCredentialsApp: empty run-as username")
	}
	sf.AddApp(App{ClientID: clientID, ClientSecret: clientSecret, RunAs: runAs})
}

func rsaKey(method string, pub crypto.PublicKey) *rsa.PublicKey {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k
	case *x509.Certificate:
		if rk, ok := k.PublicKey.(*rsa.PublicKey); ok {
			return rk
		}
		panic(fmt.Sprintf("dynamotest: %s: the certificate holds a %T, not an RSA key", method, k.PublicKey))
	}
	panic(fmt.Sprintf("dynamotest: %s: public key of type %T: want *rsa.PublicKey or *x509.Certificate", method, pub))
}

// AddUser registers a user of the org and returns the user's 18-character ID
// ("005…"). The user is pre-authorised for the apps given by client ID (which need
// not be registered yet) or, when none is given, for every app. AddUser panics if
// username is empty or taken.
func (sf *Salesforce) AddUser(username string, clientIDs ...string) string {
	if username == "" {
		panic("dynamotest: AddUser: empty username")
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if _, taken := sf.users[username]; taken {
		panic(fmt.Sprintf("dynamotest: AddUser: username %q registered twice", username))
	}
	u := &sfUser{username: username}
	id15 := fmt.Sprintf("005%012d", len(sf.users)+1)
	u.id = id15 + idChecksum(id15)
	if len(clientIDs) > 0 {
		u.apps = make(map[string]bool, len(clientIDs))
		for _, c := range clientIDs {
			u.apps[c] = true
		}
	}
	sf.users[username] = u
	return u.id
}

// RefuseUser makes every later token request for the user fail, whatever the flow,
// with invalid_grant "user hasn't approved this consumer", as when an admin takes
// the user off the app's pre-authorised profiles. Sessions issued before stay live.
// RefuseUser panics if the user is unknown.
func (sf *Salesforce) RefuseUser(username string) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	u, ok := sf.users[username]
	if !ok {
		panic(fmt.Sprintf("dynamotest: RefuseUser: unknown user %q", username))
	}
	u.refused = true
}

// FailNext makes the next n token requests, whatever they carry, answer with
// status instead of being handled: a 5xx answer has the status text as a plain
// text body, as a proxy in front of Salesforce would send; a 4xx answer is
// Salesforce's JSON {"error":"invalid_request",…}. Calls add up. FailNext panics if
// n is negative or status is not a 4xx or 5xx code.
func (sf *Salesforce) FailNext(n, status int) {
	if n < 0 {
		panic(fmt.Sprintf("dynamotest: FailNext: negative count %d", n))
	}
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("dynamotest: FailNext: status %d is not an error", status))
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	for range n {
		sf.failures = append(sf.failures, status)
	}
}

// TokenRequest is one request as it arrived at the login host, without any secret:
// no assertion, client secret, refresh token or access token is kept.
type TokenRequest struct {
	// Method and Path are the request's method and URL path.
	Method, Path string
	// GrantType is the grant_type parameter as sent.
	GrantType string
	// ClientID is the app's consumer key as sent: the client_id parameter, the user
	// of HTTP basic authentication, or a JWT assertion's iss claim.
	ClientID string
	// Username is the user the request asked a session for: a JWT assertion's sub
	// claim, the run-as user of a client credentials app, or the owner of a refresh
	// token. Empty when the fake could not tell.
	Username string
	// BasicAuth reports whether the client authenticated with HTTP basic
	// authentication rather than in the form.
	BasicAuth bool
	// Status is the status code the fake answered with, 0 if it answered nothing.
	Status int
	// Error and ErrorDescription are the error and error_description of a refusal.
	Error, ErrorDescription string
}

// Requests returns a copy of every request that arrived at the login host, in order
// of arrival, refused and failed ones included.
func (sf *Salesforce) Requests() []TokenRequest {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	out := make([]TokenRequest, len(sf.requests))
	for i, r := range sf.requests {
		out[i] = *r
	}
	return out
}

// TokenRequests returns how many requests arrived at the token endpoint's path,
// whatever their method, answer or fault.
func (sf *Salesforce) TokenRequests() int {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.tokenRequests
}

// tokenHold is a held token request's pair of channels.
type tokenHold struct {
	release <-chan struct{}
	arrived chan struct{}
}

// HoldNext holds the next request to the token endpoint: it arrives, which closes
// the returned channel, and then waits, unanswered, until release is closed, before
// it is handled (or failed by FailNext). A test can thus keep a token request in
// flight while other callers ask for a session. A held request that the client
// abandons, or that Close ends, gets no answer. Calls queue up, one request each.
// HoldNext panics if release is nil.
func (sf *Salesforce) HoldNext(release <-chan struct{}) (arrived <-chan struct{}) {
	if release == nil {
		panic("dynamotest: HoldNext: nil release channel")
	}
	h := tokenHold{release: release, arrived: make(chan struct{})}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	sf.holds = append(sf.holds, h)
	return h.arrived
}

// takeHold takes the next hold for a request on the token path; sf.mu is held.
func (sf *Salesforce) takeHold(onPath bool) *tokenHold {
	if !onPath || len(sf.holds) == 0 {
		return nil
	}
	h := sf.holds[0]
	sf.holds = sf.holds[1:]
	return &h
}

// hold tells that the request arrived and waits for its release; false if the
// client went away or the fake was closed first.
func (sf *Salesforce) hold(r *http.Request, h *tokenHold) bool {
	if h == nil {
		return true
	}
	close(h.arrived)
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
		return false
	case <-sf.done:
		return false
	}
}
