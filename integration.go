package dynamo

import (
	"errors"
	"fmt"
	"log/slog"
)

// IntegrationSalesforce is the integration type of a Salesforce session.
const IntegrationSalesforce = "Salesforce"

// Integration tells Dynamo which Salesforce session its tasks run in. A batch
// or task without Salesforce has a nil Integration.
//
// SessionID is a live user session and so a secret. Formatting an
// Integration with any fmt verb, or logging it (or a Batch or TaskRequest
// holding it) through log/slog, shows "[REDACTED]" in its place; so do the
// SDK's errors. Encoding it with encoding/json fails, loudly, rather than
// write the session where a log or a queue would keep it, or silently drop
// it: a Batch or TaskRequest stored as JSON must leave its Integration out,
// and be given a current session when it is posted (a Salesforce session
// expires with the user's, so a stored one would soon be refused anyway).
// Decoding an Integration from JSON reads the fields of the API's form:
// "type", "sessionID" and "serverURL".
//
// An Integration made by SalesforceFrom holds no session but a source, asked
// for one by every post that carries it; its SessionID and ServerURL stay
// empty.
type Integration struct {
	Type      string `json:"type"`      // "Salesforce"
	SessionID string `json:"sessionID"` // the current Salesforce session ID
	ServerURL string `json:"serverURL"` // the Salesforce server, a host name or an https:// URL

	source     SessionSource
	fromSource bool // made by SalesforceFrom, even with a nil source
}

// ErrSessionNotEncoded is the error of encoding an Integration as JSON.
var ErrSessionNotEncoded = errors.New("dynamo: an Integration holds a live Salesforce session and is not encoded as JSON: leave it out of what you store, and set it when posting")

// MarshalJSON fails with ErrSessionNotEncoded; see Integration.
func (in Integration) MarshalJSON() ([]byte, error) { return nil, ErrSessionNotEncoded }

// wireIntegration is the integration as the API receives it, session
// included: the only place the session is encoded.
type wireIntegration struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionID"`
	ServerURL string `json:"serverURL"`
}

func (in *Integration) wire() *wireIntegration {
	if in == nil {
		return nil
	}
	return &wireIntegration{Type: in.Type, SessionID: in.SessionID, ServerURL: in.ServerURL}
}

// Salesforce returns the integration for a Salesforce session on serverURL:
// a fixed session, sent as it is by every post that carries it. A session
// that names another org than the client's tenant ID is refused before the
// network, with a *ValidationError naming both orgs. For a long-lived
// program, or a bulk run of many hours, use SalesforceFrom: a fixed session
// expires.
func Salesforce(sessionID, serverURL string) *Integration {
	return &Integration{Type: IntegrationSalesforce, SessionID: sessionID, ServerURL: serverURL}
}

// SalesforceFrom returns the integration whose session src gives: every
// post that carries it (PostBatch, PostBatchWithTemplate, PostTask,
// PostTaskWithTemplate, and each chunk of PostBulk) asks src for a session
// once, before the request is built, so that a run of many hours posts each
// chunk with a session as fresh as src keeps it. See SessionSource for when
// and from which goroutines src is called.
//
// When src fails, the post is not sent and its error is a *SessionError
// wrapping src's (it matches ErrNoSession). A session of another org than
// the client's tenant ID fails the post, before the network, with a
// *ValidationError naming both orgs. The session src gives is a secret as
// any other: no error or log line of the SDK shows it.
func SalesforceFrom(src SessionSource) *Integration {
	return &Integration{Type: IntegrationSalesforce, source: src, fromSource: true}
}

// fromSourceText stands in printed values for the session of an integration
// that has a source.
const fromSourceText = "(from its source)"

func (in Integration) redactedSession() string {
	switch {
	case in.fromSource && in.SessionID == "":
		return fromSourceText
	case in.SessionID == "":
		return ""
	}
	return redacted
}

// String returns the integration with its session ID redacted.
func (in Integration) String() string {
	return fmt.Sprintf("{Type:%s SessionID:%s ServerURL:%s}", in.Type, in.redactedSession(), in.ServerURL)
}

// GoString returns a Go-syntax form with the session ID redacted.
func (in Integration) GoString() string {
	return fmt.Sprintf("dynamo.Integration{Type:%q, SessionID:%q, ServerURL:%q}", in.Type, in.redactedSession(), in.ServerURL)
}

// Format implements fmt.Formatter so that no verb shows the session ID.
func (in Integration) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, in.String(), in.GoString())
}

// LogValue implements slog.LogValuer with the session ID redacted.
func (in Integration) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", in.Type),
		slog.String("sessionID", in.redactedSession()),
		slog.String("serverURL", in.ServerURL),
	)
}

// secrets returns the session, which must never appear in what the SDK
// prints; nil for a nil integration.
func (in *Integration) secrets() redactor {
	if in == nil {
		return nil
	}
	return redactor{in.SessionID}
}

func (in *Integration) validate(p *problems) {
	if in == nil {
		return
	}
	if in.Type != IntegrationSalesforce {
		p.add("integration.type", fmt.Sprintf("must be %q", IntegrationSalesforce))
	}
	if in.fromSource {
		// The session is checked when the source gives it, as each post
		// is made.
		if in.source == nil {
			p.add("integration", "SalesforceFrom was given a nil SessionSource")
		}
		return
	}
	if in.SessionID == "" {
		p.add("integration.sessionID", "is required")
	} else if hasControl(in.SessionID) {
		p.add("integration.sessionID", "must not contain control characters")
	}
	if in.ServerURL == "" {
		p.add("integration.serverURL", "is required")
	} else if hasControl(in.ServerURL) {
		p.add("integration.serverURL", "must not contain control characters")
	}
}
