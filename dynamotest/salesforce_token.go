package dynamotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The grant types the token endpoint takes.
const (
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
)

// maxTokenFormBytes bounds the form the token endpoint reads.
const maxTokenFormBytes = 64 << 10

// The refusal texts. Those marked as Salesforce's are the texts Salesforce answers
// with; the others are the fake's own, where Salesforce's are not known.
const (
	errInvalidRequest       = "invalid_request"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidGrant         = "invalid_grant"
	errInvalidClientID      = "invalid_client_id"
	errInvalidClient        = "invalid_client"

	descGrantNotSupported = "grant type not supported"                     // Salesforce's
	descInvalidAssertion  = "invalid assertion"                            // Salesforce's
	descNotApproved       = "user hasn't approved this consumer"           // Salesforce's
	descExpired           = "expired authorization code"                   // Salesforce's
	descBadAudience       = "audience is invalid"                          // Salesforce's
	descClientIDInvalid   = "client identifier invalid"                    // Salesforce's
	descBadClientSecret   = "invalid client credentials"                   // Salesforce's
	descBadRefreshToken   = "expired access/refresh token"                 // Salesforce's
	descNoRunAsUser       = "no client credentials user enabled"           // Salesforce's
	descExpTooFar         = "expiration time is more than 3 minutes ahead" // the fake's
)

// maxAssertionLife is how far ahead a JWT assertion's exp may be: Salesforce wants
// it within 3 minutes.
const maxAssertionLife = 3 * time.Minute

// tokenAnswer is Salesforce's answer to a granted token request. It has no
// expires_in: Salesforce sends none.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Signature    string `json:"signature"`
	Scope        string `json:"scope"`
	InstanceURL  string `json:"instance_url"`
	ID           string `json:"id"`
	TokenType    string `json:"token_type"`
	IssuedAt     string `json:"issued_at"`
}

// tokenError is Salesforce's answer to a refused token request.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// grantResult is what a grant handler decided: a refusal, or a session for a user
// of an app.
type grantResult struct {
	refusal *tokenError
	status  int // of a refusal; 400 when 0
	app     *sfApp
	user    *sfUser
	refresh string // a new refresh token to hand out, if any
}

func refuse(code, desc string) grantResult {
	return grantResult{refusal: &tokenError{Error: code, Description: desc}}
}

// serveHTTP answers every request to the login host.
func (sf *Salesforce) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &TokenRequest{Method: r.Method, Path: r.URL.Path}
	sf.mu.Lock()
	sf.requests = append(sf.requests, rec)
	onPath := r.URL.Path == tokenPath
	var fail int
	if onPath {
		sf.tokenRequests++
		if len(sf.failures) > 0 {
			fail = sf.failures[0]
			sf.failures = sf.failures[1:]
		}
	}
	hold := sf.takeHold(onPath)
	sf.mu.Unlock()
	if !sf.hold(r, hold) {
		panic(http.ErrAbortHandler) // the client went away or the fake closed: no answer
	}

	var rep *reply
	switch {
	case !onPath:
		rep = tokenErrorReply(http.StatusNotFound, &tokenError{Error: "not_found", Description: "the login host has no " + r.URL.Path})
	case fail >= 500:
		rep = &reply{status: fail, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body: []byte(http.StatusText(fail))}
	case fail != 0:
		rep = tokenErrorReply(fail, &tokenError{Error: errInvalidRequest, Description: http.StatusText(fail)})
	case r.Method != http.MethodPost:
		rep = tokenErrorReply(http.StatusMethodNotAllowed, &tokenError{Error: errInvalidRequest, Description: "the token endpoint takes POST"})
		rep.header.Set("Allow", http.MethodPost)
	default:
		rep = sf.token(r, rec)
	}
	sf.mu.Lock()
	rec.Status = rep.status
	sf.mu.Unlock()
	rep.write(w)
}

// token handles one POST to the token endpoint; rec is filled in as the request is
// understood, under sf.mu.
func (sf *Salesforce) token(r *http.Request, rec *TokenRequest) *reply {
	form, refusal := readTokenForm(r)
	grant := form.Get("grant_type")
	sf.note(rec, func() { rec.GrantType = grant })
	if refusal != nil {
		return sf.refusal(rec, grantResult{refusal: refusal})
	}
	var res grantResult
	switch grant {
	case grantJWTBearer:
		res = sf.jwtBearer(form, rec)
	case grantClientCredentials:
		res = sf.clientCredentials(r, form, rec)
	case grantRefreshToken:
		res = sf.refreshGrant(r, form, rec)
	default:
		res = refuse(errUnsupportedGrantType, descGrantNotSupported)
	}
	if res.refusal != nil {
		return sf.refusal(rec, res)
	}
	return jsonReply(http.StatusOK, sf.issue(res, grant))
}

// note changes rec under sf.mu.
func (sf *Salesforce) note(rec *TokenRequest, f func()) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	f()
}

func (sf *Salesforce) refusal(rec *TokenRequest, res grantResult) *reply {
	sf.note(rec, func() {
		rec.Error = res.refusal.Error
		rec.ErrorDescription = res.refusal.Description
	})
	status := res.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	return tokenErrorReply(status, res.refusal)
}

func tokenErrorReply(status int, e *tokenError) *reply {
	return jsonReply(status, e)
}

// allowedParams are the form parameters each grant takes, besides grant_type and
// format.
var allowedParams = map[string][]string{
	grantJWTBearer:         {"assertion"},
	grantClientCredentials: {"client_id", "client_secret"},
	grantRefreshToken:      {"refresh_token", "client_id", "client_secret"},
}

// readTokenForm reads the form of a token request. It refuses a body that is not a
// form, parameters in the URL's query (they would put secrets in logs), a parameter
// given twice, one the grant does not take, and a format other than json.
func readTokenForm(r *http.Request) (url.Values, *tokenError) {
	bad := func(format string, args ...any) (url.Values, *tokenError) {
		return nil, &tokenError{Error: errInvalidRequest, Description: fmt.Sprintf(format, args...)}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return bad("the body must be a form (application/x-www-form-urlencoded)")
	}
	if r.URL.RawQuery != "" {
		return bad("parameters belong in the body, not in the URL")
	}
	body, err := readLimited(r.Body, maxTokenFormBytes)
	if errors.Is(err, errTooLarge) {
		return bad("the form exceeds %d bytes", maxTokenFormBytes)
	}
	if err != nil {
		return bad("reading the form: %v", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return bad("the form cannot be parsed")
	}
	for _, k := range sortedKeys(form) {
		if len(form[k]) > 1 {
			return bad("parameter %s is given %d times", k, len(form[k]))
		}
	}
	if f, ok := form["format"]; ok && f[0] != "json" {
		return bad("format %q: the fake answers json only", f[0])
	}
	allowed, known := allowedParams[form.Get("grant_type")]
	if !known {
		return form, nil // the grant type is refused next
	}
	for _, k := range sortedKeys(form) {
		if k == "grant_type" || k == "format" {
			continue
		}
		if !slices.Contains(allowed, k) {
			return bad("parameter %s is not taken by grant type %s", k, form.Get("grant_type"))
		}
	}
	return form, nil
}

// clientAuth is how a request identified its app: HTTP basic authentication or the
// form's client_id and client_secret.
type clientAuth struct {
	id, secret string
	hasSecret  bool
	basic      bool
}

// readClientAuth takes the client's credentials from the Authorization header or the
// form, never both (RFC 6749, section 2.3). Basic credentials are form-encoded
// first, as RFC 6749 section 2.3.1 says and golang.org/x/oauth2 does.
func readClientAuth(r *http.Request, form url.Values) (clientAuth, *tokenError) {
	user, pass, basic := r.BasicAuth()
	_, formID := form["client_id"]
	_, formSecret := form["client_secret"]
	if basic {
		if formID || formSecret {
			return clientAuth{}, &tokenError{Error: errInvalidRequest, Description: "client credentials in both the Authorization header and the form"}
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return clientAuth{}, &tokenError{Error: errInvalidClient, Description: descBadClientSecret}
		}
		return clientAuth{id: id, secret: secret, hasSecret: true, basic: true}, nil
	}
	if r.Header.Get("Authorization") != "" {
		return clientAuth{}, &tokenError{Error: errInvalidRequest, Description: "the Authorization header is not HTTP basic authentication"}
	}
	return clientAuth{id: form.Get("client_id"), secret: form.Get("client_secret"), hasSecret: formSecret}, nil
}

// secretMatches reports whether the request's secret is the app's.
func secretMatches(app *sfApp, auth clientAuth) bool {
	return auth.hasSecret && subtle.ConstantTimeCompare([]byte(auth.secret), []byte(app.ClientSecret)) == 1
}

// clientApp finds the app a request authenticated as, and notes it in rec; sf.mu is
// held. A wrong consumer secret is refused, and so is a missing one when the app has
// a secret or secretRequired says the grant needs one.
func (sf *Salesforce) clientApp(auth clientAuth, rec *TokenRequest, secretRequired bool) (*sfApp, *grantResult) {
	rec.ClientID, rec.BasicAuth = auth.id, auth.basic
	app, ok := sf.apps[auth.id]
	if !ok || auth.id == "" {
		res := refuse(errInvalidClientID, descClientIDInvalid)
		return nil, &res
	}
	if (secretRequired || app.ClientSecret != "") && (app.ClientSecret == "" || !secretMatches(app, auth)) {
		res := refuse(errInvalidClient, descBadClientSecret)
		return nil, &res
	}
	return app, nil
}

// clientCredentials handles grant_type=client_credentials.
func (sf *Salesforce) clientCredentials(r *http.Request, form url.Values, rec *TokenRequest) grantResult {
	auth, refusal := readClientAuth(r, form)
	if refusal != nil {
		return grantResult{refusal: refusal}
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	app, refused := sf.clientApp(auth, rec, true)
	if refused != nil {
		return *refused
	}
	if app.RunAs == "" {
		return refuse(errInvalidGrant, descNoRunAsUser)
	}
	rec.Username = app.RunAs
	return sf.grantTo(app, app.RunAs)
}

// grantTo grants app a session of the user named username, or refuses as
// Salesforce does when the user is unknown or has not approved the app. The
// caller holds sf.mu.
func (sf *Salesforce) grantTo(app *sfApp, username string) grantResult {
	user, ok := sf.users[username]
	if !ok || !user.approved(app.ClientID) {
		return refuse(errInvalidGrant, descNotApproved)
	}
	return grantResult{app: app, user: user}
}

// issue mints a session for a granted request and writes Salesforce's answer.
func (sf *Salesforce) issue(res grantResult, grant string) tokenAnswer {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	now := sf.cfg.now()
	id := sf.newSessionID()
	sf.sessions[id] = &sfSession{
		username: res.user.username,
		clientID: res.app.ClientID,
		grant:    grant,
		issuedAt: now,
		seq:      len(sf.sessions),
		uses:     []time.Time{now},
	}
	identity := sf.URL + "/id/" + sf.OrgID + "/" + res.user.id
	issuedAt := strconv.FormatInt(now.UnixMilli(), 10)
	return tokenAnswer{
		AccessToken:  id,
		RefreshToken: res.refresh,
		Signature:    sf.sign(res.app, identity+issuedAt),
		Scope:        "api",
		InstanceURL:  sf.instanceURL(),
		ID:           identity,
		TokenType:    "Bearer",
		IssuedAt:     issuedAt,
	}
}

// sign computes an answer's signature as Salesforce does: the base64 HMAC-SHA256 of
// the identity URL and issued_at, keyed with the app's consumer secret (or, for an
// app without one, a key of the fake's).
func (sf *Salesforce) sign(app *sfApp, msg string) string {
	key := sf.signKey
	if app.ClientSecret != "" {
		key = []byte(app.ClientSecret)
	}
	m := hmac.New(sha256.New, key)
	_, _ = io.WriteString(m, msg)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// jsonString decodes raw as a JSON string; ok is false if it is not one.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
