package dynamo

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// IntegrationSalesforce is the integration type of a Salesforce session.
const IntegrationSalesforce = "Salesforce"

// Integration tells Dynamo which Salesforce session its tasks run in. A batch
// without Salesforce has a nil Integration.
//
// SessionID is a live user session and so a secret: formatting an Integration
// with any fmt verb, logging it through log/slog or encoding it with
// encoding/json shows "[REDACTED]" in its place. Only the request body sent to
// the API carries it.
type Integration struct {
	Type      string // "Salesforce"
	SessionID string // the current Salesforce session ID
	ServerURL string // the Salesforce server, a host name or an https:// URL
}

// Salesforce returns the integration for a Salesforce session on serverURL.
func Salesforce(sessionID, serverURL string) *Integration {
	return &Integration{Type: IntegrationSalesforce, SessionID: sessionID, ServerURL: serverURL}
}

func (in Integration) redactedSession() string {
	if in.SessionID == "" {
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

// MarshalJSON encodes the integration with its session ID redacted, so that a
// Batch written to a log or a file does not carry the session.
func (in Integration) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireIntegration{Type: in.Type, SessionID: in.redactedSession(), ServerURL: in.ServerURL})
}

// wireIntegration is the integration as the API receives it, session included.
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

func (in *Integration) validate(p *problems) {
	if in == nil {
		return
	}
	if in.Type != IntegrationSalesforce {
		p.add("integration.type", fmt.Sprintf("must be %q", IntegrationSalesforce))
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
