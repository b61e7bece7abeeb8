package salesforce

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
)

// Source gives Salesforce sessions to dynamo.SalesforceFrom: it implements
// dynamo.SessionSource. Make one with JWTBearer, ClientCredentials,
// RefreshToken, CLI, FromTokenSource, FromEnv or FromLookup.
//
// A Source keeps the session it minted and gives it to every caller until
// it is older than the maximum age (WithMaxAge, 10 minutes unless set),
// then mints a new one: Salesforce's token answers say nothing of when a
// session expires. Callers that find the session too old while a new one is
// being minted wait for that one: 64 concurrent posts make one token
// request. A mint that fails for a reason that may pass (a 5xx or 429
// answer, a connection that failed) is tried again, up to 4 times in all,
// after a backoff; any other failure, such as Salesforce's invalid_grant or
// invalid_client, is reported at once as a *TokenError. A failure is
// reported to the callers waiting for that mint; the next caller starts
// another.
//
// A Source is safe for concurrent use. Formatting it with any fmt verb, or
// logging it through log/slog, shows where its sessions come from, never a
// secret; neither does any of its errors.
type Source struct {
	origin string // what Identity's Origin says
	where  string // the login URL or CLI org, for printing
	fixed  *minted
	mint   func(ctx context.Context, hc *http.Client) (minted, error) // one attempt
	// secrets lists what must not appear in an error besides anything that
	// looks like a session: a client secret, a refresh token.
	secrets func() secrets
	opts    options
	optErr  error // an invalid option given to FromTokenSource

	mintMu sync.Mutex // held by the mint under way: one at a time

	mu     sync.Mutex
	cur    *minted
	curAt  time.Time // when the mint of cur started
	flight *flight
}

// minted is a session and what is known of it.
type minted struct {
	session  dynamo.Session
	identity Identity
}

// Identity says where a Source's sessions come from and whose they are. It
// holds no secret.
type Identity struct {
	// Origin is the kind of source: "JWT bearer", "client credentials",
	// "refresh token", "Salesforce CLI", "token source" or "fixed session".
	Origin string
	// OrgID is the org's ID (15 or 18 characters), when known.
	OrgID string
	// UserID is the user's ID, when the token answer named it.
	UserID string
	// Username is the user's username, when known (the JWT bearer flow's
	// subject, or the CLI's org).
	Username string
	// InstanceURL is the org's instance URL, the session's server.
	InstanceURL string
}

// flight is one mint, shared by every caller that waits for it.
type flight struct {
	done    chan struct{}
	val     minted
	err     error
	waiters int
	cancel  context.CancelFunc
}

// newSource returns a source that mints with mint, configured by opts.
func newSource(origin, where string, opts options, mint func(context.Context, *http.Client) (minted, error)) *Source {
	return &Source{origin: origin, where: where, opts: opts, mint: mint, secrets: func() secrets { return nil }}
}

var _ dynamo.SessionSource = (*Source)(nil)

// Session returns the current session, minting a new one first when there
// is none or it is older than the maximum age. It waits for a mint already
// under way instead of starting another. When ctx ends, Session returns at
// once with ctx's error; the mint goes on for the other callers waiting for
// it, and stops when none is left.
func (s *Source) Session(ctx context.Context) (dynamo.Session, error) {
	m, err := s.get(ctx)
	return m.session, err
}

// Identity returns what is known of the current session's org and user,
// minting a session first as Session does.
func (s *Source) Identity(ctx context.Context) (Identity, error) {
	m, err := s.get(ctx)
	return m.identity, err
}

func (s *Source) get(ctx context.Context) (minted, error) {
	if s.optErr != nil {
		return minted{}, s.optErr
	}
	if s.fixed != nil {
		return *s.fixed, nil
	}
	if err := ctx.Err(); err != nil {
		return minted{}, err
	}
	s.mu.Lock()
	if s.cur != nil && s.opts.now().Sub(s.curAt) < s.opts.maxAge {
		m := *s.cur
		s.mu.Unlock()
		return m, nil
	}
	f := s.flight
	if f == nil {
		// The mint is no caller's: it keeps the first caller's values
		// but not its end, and stops only when no caller waits any more.
		mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		s.flight = f
		go s.run(mctx, f)
	}
	f.waiters++
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		s.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if s.flight == f {
				s.flight = nil // the next caller starts afresh
			}
		}
		s.mu.Unlock()
		return minted{}, ctx.Err()
	}
}

// run mints for flight f and hands the outcome to its waiters.
func (s *Source) run(ctx context.Context, f *flight) {
	defer f.cancel()
	// A mint whose callers all left may still be running (a token source
	// that does not heed the context): the next waits for it to end.
	s.mintMu.Lock()
	started := s.opts.now()
	f.val, f.err = s.mintWithRetry(ctx)
	s.mintMu.Unlock()
	s.mu.Lock()
	if f.err == nil {
		m := f.val
		s.cur, s.curAt = &m, started
	}
	if s.flight == f {
		s.flight = nil
	}
	s.mu.Unlock()
	close(f.done)
}

// String says where the source's sessions come from, without a secret.
func (s *Source) String() string {
	if s == nil {
		return "salesforce.Source(nil)"
	}
	if s.where == "" {
		return fmt.Sprintf("salesforce.Source{%s}", s.origin)
	}
	return fmt.Sprintf("salesforce.Source{%s %s}", s.origin, s.where)
}

// Format implements fmt.Formatter so that no verb shows a secret.
func (s *Source) Format(f fmt.State, verb rune) { formatConfig(f, verb, s.String(), s.String()) }

// LogValue implements slog.LogValuer: the origin and where, no secret.
func (s *Source) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("nil")
	}
	return slog.GroupValue(slog.String("origin", s.origin), slog.String("where", s.where))
}
