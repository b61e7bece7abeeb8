package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/dynamokit/dynamo"
)

// mintWithRetry mints a session, trying again after a backoff while the
// failure may pass.
func (s *Source) mintWithRetry(ctx context.Context) (minted, error) {
	for attempt := 1; ; attempt++ {
		rec := &attemptRecord{}
		m, err := s.mint(ctx, s.attemptClient(ctx, rec))
		if err == nil {
			return m, nil
		}
		err, transient := s.failure(err, rec, attempt)
		if !transient || attempt >= s.opts.maxAttempts || ctx.Err() != nil {
			if cerr := ctx.Err(); cerr != nil {
				return minted{}, cerr
			}
			return minted{}, err
		}
		if serr := s.opts.sleep(ctx, s.backoff(attempt)); serr != nil {
			return minted{}, serr
		}
	}
}

// backoff is the wait after the attempt-th failed attempt: the first wait
// doubled for each attempt before, at most the longest, with jitter.
func (s *Source) backoff(attempt int) time.Duration {
	d := s.opts.retryWait << (attempt - 1)
	if d > s.opts.retryMax || d <= 0 {
		d = s.opts.retryMax
	}
	return d/2 + rand.N(d/2+1)
}

// failure turns the error of the attempt-th attempt into the error reported,
// and says whether another attempt may succeed.
func (s *Source) failure(err error, rec *attemptRecord, attempt int) (error, bool) {
	var te *TokenError
	if errors.As(err, &te) {
		te.Attempts = attempt
		return te, te.transient()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := s.tokenError(re)
		te.Attempts = attempt
		return te, te.transient()
	}
	sec := s.secrets()
	if cause := rec.failure(); cause != nil { // the connection failed
		return &connectionError{origin: s.origin, attempts: attempt, msg: sec.clean(cause.Error()), err: cause}, true
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) { // from a caller's token source
		return &connectionError{origin: s.origin, attempts: attempt, msg: sec.clean(err.Error()), err: err}, true
	}
	return &mintError{origin: s.origin, msg: sec.clean(err.Error()), err: err}, false
}

// tokenError reads Salesforce's error and description from a refusal.
func (s *Source) tokenError(re *oauth2.RetrieveError) *TokenError {
	sec := s.secrets()
	te := &TokenError{}
	if re.Response != nil {
		te.Status = re.Response.StatusCode
		if re.Response.Request != nil {
			u := *re.Response.Request.URL
			u.RawQuery, u.User = "", nil
			te.URL = u.String()
		}
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(re.Body, &body) == nil && (body.Error != "" || body.Description != "") {
		te.Code, te.Description = sec.clean(body.Error), sec.clean(body.Description)
	} else {
		te.Code, te.Description = sec.clean(re.ErrorCode), sec.clean(re.ErrorDescription)
		if te.Code == "" && te.Description == "" {
			te.Description = sec.clean(string(re.Body))
		}
	}
	return te
}

// connectionError is a mint whose token request got no answer.
type connectionError struct {
	origin   string
	attempts int
	msg      string // err's text, secrets removed
	err      error
}

func (e *connectionError) Error() string {
	text := fmt.Sprintf("salesforce: %s: no answer from the token endpoint: %s", e.origin, e.msg)
	if e.attempts > 1 {
		text += fmt.Sprintf(" (after %d attempts)", e.attempts)
	}
	return text
}

func (e *connectionError) Unwrap() error { return e.err }

// mintError is any other failure to mint.
type mintError struct {
	origin string
	msg    string // err's text, secrets removed
	err    error
}

func (e *mintError) Error() string {
	return fmt.Sprintf("salesforce: %s: %s", e.origin, strings.TrimPrefix(e.msg, "salesforce: "))
}

func (e *mintError) Unwrap() error { return e.err }

// attemptRecord is what the transport saw of one attempt.
type attemptRecord struct {
	mu  sync.Mutex
	err error // the round trip's error, when the connection failed
}

func (r *attemptRecord) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// attemptClient is the HTTP client of one attempt: the caller's (or a
// default one), bound to ctx, following no redirect, and recording how the
// round trip ended.
func (s *Source) attemptClient(ctx context.Context, rec *attemptRecord) *http.Client {
	base := s.opts.httpClient
	if base == nil {
		base = &http.Client{Timeout: defaultTimeout}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport: &attemptTransport{base: rt, ctx: ctx, rec: rec},
		Jar:       base.Jar,
		Timeout:   base.Timeout,
		// A credential in a form is sent again by a 307 or 308: to no
		// other address than the one configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attemptTransport binds every request to the mint's context (the jwt
// package sends its request without one) and records a failed round trip.
type attemptTransport struct {
	base http.RoundTripper
	ctx  context.Context
	rec  *attemptRecord
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		t.rec.mu.Lock()
		t.rec.err = err
		t.rec.mu.Unlock()
	}
	return resp, err
}

// withClient is ctx carrying hc for the oauth2 packages.
func withClient(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// fromToken reads a session from a token answer: the access token, the
// instance URL, and the org and user from the identity URL.
func fromToken(origin, username string, tok *oauth2.Token) (minted, error) {
	if tok == nil || tok.AccessToken == "" {
		return minted{}, errors.New("the token answer holds no access token")
	}
	instance, _ := tok.Extra("instance_url").(string)
	if instance == "" {
		return minted{}, errors.New("the token answer holds no instance_url")
	}
	id := Identity{Origin: origin, Username: username, InstanceURL: instance}
	if idURL, ok := tok.Extra("id").(string); ok {
		id.OrgID, id.UserID = parseIDURL(idURL)
	}
	if id.OrgID == "" {
		id.OrgID = sessionOrg(tok.AccessToken)
	}
	return minted{session: dynamo.Session{ID: tok.AccessToken, ServerURL: instance}, identity: id}, nil
}

// parseIDURL reads the org and user IDs from an identity URL,
// ".../id/00D…/005…".
func parseIDURL(raw string) (org, user string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "id" && strings.HasPrefix(parts[i+1], "00D") {
			return parts[i+1], parts[i+2]
		}
	}
	return "", ""
}

// sessionOrg is the org ID a session begins with, or "".
func sessionOrg(session string) string {
	if len(session) > 16 && session[15] == '!' && strings.HasPrefix(session, "00D") {
		return session[:15]
	}
	return ""
}

// tokenURL checks a login URL and returns it and its token endpoint. It
// must be https, or http to a loopback host.
func tokenURL(what, raw string) (login, token string, err error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", "", configErr(fmt.Errorf("salesforce: %s %q: %w", what, raw, err))
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", "", configErr(fmt.Errorf("salesforce: %s %q: not an https:// URL", what, raw))
	case u.User != nil:
		return "", "", configErr(fmt.Errorf("salesforce: %s must not hold user info", what))
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", configErr(fmt.Errorf("salesforce: %s %q: must not have a query or fragment", what, raw))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", "", configErr(fmt.Errorf("salesforce: %s %q: plain http would expose the credentials; use https", what, raw))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	login = u.String()
	return login, login + "/services/oauth2/token", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
