package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// SessionSource gives the Salesforce sessions that posts carry. An
// Integration made by SalesforceFrom asks its source for a session once per
// post, before the request is built: PostBatch, PostBatchWithTemplate,
// PostTask, PostTaskWithTemplate, and every chunk of PostBulk. A retry of
// the same post sends the session it was given; it does not ask again.
//
// A source is called from the goroutine making the post, and from several
// goroutines at once by concurrent posts and by PostBulk: it must be safe
// for concurrent use. The context is the post's: a source should give up
// when it is done. The package salesforce has sources for the OAuth flows
// and the Salesforce CLI.
type SessionSource interface {
	// Session returns a session fresh enough to post with. Its error stops
	// the post before anything is sent.
	Session(ctx context.Context) (Session, error)
}

// Session is a Salesforce session: its ID, a secret, and the server (the
// org's instance URL) it belongs to. Formatting a Session with any fmt verb,
// or logging it through log/slog, shows "[REDACTED]" in place of its ID.
type Session struct {
	// ID is the session ID (an access token), a secret: its org's
	// 15-character ID, "!", and the rest.
	ID string
	// ServerURL is the org's instance URL, such as
	// https://acme.my.salesforce.com.
	ServerURL string
}

func (s Session) redactedID() string {
	if s.ID == "" {
		return ""
	}
	return redacted
}

// String returns the session with its ID redacted.
func (s Session) String() string {
	return fmt.Sprintf("{ID:%s ServerURL:%s}", s.redactedID(), s.ServerURL)
}

// GoString returns a Go-syntax form with the ID redacted.
func (s Session) GoString() string {
	return fmt.Sprintf("dynamo.Session{ID:%q, ServerURL:%q}", s.redactedID(), s.ServerURL)
}

// Format implements fmt.Formatter so that no verb shows the ID.
func (s Session) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, s.String(), s.GoString())
}

// LogValue implements slog.LogValuer with the ID redacted.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.redactedID()), slog.String("serverURL", s.ServerURL))
}

// ErrNoSession matches the error of a post that was not sent because its
// Integration's source gave no session (a *SessionError).
var ErrNoSession = errors.New("dynamo: no Salesforce session")

// SessionError is the error of a post stopped before anything was sent
// because its Integration's source gave no session. It matches ErrNoSession,
// and wraps the source's error, so that errors.Is and errors.As reach what
// the source reported (a context's error, or a token endpoint's refusal).
// Nothing was posted: the post may be made again once a session can be had.
// Its message holds the source's error's text without the API key or
// anything that looks like a session; Err is the source's error as it was.
type SessionError struct {
	Method string // request method
	Path   string // as in APIError.Path
	Err    error  // the source's error

	msg string // the source's error's text, the client's secrets and anything like a session removed
}

// Error says that the post was not sent, and why.
func (e *SessionError) Error() string {
	msg := e.msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("dynamo: %s %s: not sent, no Salesforce session could be had: %s", e.Method, e.Path, strings.TrimPrefix(msg, "dynamo: "))
}

// Unwrap returns Err.
func (e *SessionError) Unwrap() error { return e.Err }

// Is matches ErrNoSession.
func (e *SessionError) Is(target error) bool { return target == ErrNoSession }

// sessionLike matches what looks like a Salesforce session in a source's
// error: an org ID, "!", and the rest. A source may show the session it was
// refused, or its own; the SDK knows neither.
var sessionLike = regexp.MustCompile(`00D[0-9A-Za-z]{12}![^\s"',;\\]+`)

// errEmptySession is a source's session without an ID.
var errEmptySession = errors.New("the source gave a session without an ID")

// withSession completes a post on its way into the request path: it has
// the post's session (asking the integration's source, if it has one),
// checks it, and encodes the body with it. It is the one place where a
// post's session is had; nothing has been sent when it fails.
func (c *Client) withSession(ctx context.Context, r *request) (*request, error) {
	in := r.integration
	if in != nil && in.fromSource {
		s, err := in.source.Session(ctx)
		if err == nil && s.ID == "" {
			err = errEmptySession
		}
		if err != nil {
			msg := sessionLike.ReplaceAllString(redactor{c.apiKey, s.ID}.apply(err.Error()), redacted)
			return nil, &SessionError{Method: r.method, Path: r.path, Err: err, msg: msg}
		}
		in = &Integration{Type: in.Type, SessionID: s.ID, ServerURL: s.ServerURL}
		var p problems
		in.validate(&p)
		if err := p.err(); err != nil {
			return nil, err
		}
	}
	if err := c.orgProblems(in).err(); err != nil {
		return nil, err
	}
	body, err := r.encode(in)
	if err != nil {
		return nil, err
	}
	body.method, body.path, body.out, body.integration = r.method, r.path, r.out, in
	return body, nil
}

// orgIDPrefix begins every Salesforce org ID.
const orgIDPrefix = "00D"

// orgProblems reports a session of another org than the tenant's, which
// Dynamo would refuse ("Given organization id doesn't match given session
// id"), when both the tenant ID and the session name an org. An org ID is
// not a secret, and is named; the session is not.
func (c *Client) orgProblems(in *Integration) problems {
	if in == nil || in.fromSource {
		return nil
	}
	tenant, ok := tenantOrg(c.tenantID)
	if !ok {
		return nil
	}
	session, ok := sessionOrg(in.SessionID)
	if !ok || session == tenant { // the 15-character ID is case-sensitive
		return nil
	}
	var p problems
	p.add("integration.sessionID", fmt.Sprintf("is a session of org %s, but the tenant is org %s (tenant ID %s): Dynamo would refuse it; use a session of the tenant's org", session, tenant, c.tenantID))
	return p
}

// tenantOrg returns the 15-character org ID that a tenant ID names, in its
// 15- or 18-character form.
func tenantOrg(tenantID string) (string, bool) {
	if (len(tenantID) == 15 || len(tenantID) == 18) && isOrgID(tenantID) {
		return tenantID[:15], true
	}
	return "", false
}

// sessionOrg returns the org ID that a session ID begins with: 15
// characters, then "!".
func sessionOrg(sessionID string) (string, bool) {
	if len(sessionID) > 16 && sessionID[15] == '!' && isOrgID(sessionID[:15]) {
		return sessionID[:15], true
	}
	return "", false
}

func isOrgID(s string) bool {
	if !strings.HasPrefix(s, orgIDPrefix) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
