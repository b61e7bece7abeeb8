package salesforce

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/dynamokit/dynamo"
)

// ErrNoCredentials matches the error of FromEnv and FromLookup when none of
// the variables that name a session's source is set.
var ErrNoCredentials = errors.New("salesforce: no Salesforce credentials")

// configError is a configuration this package cannot use: a source's
// config, an option's value, or what FromEnv and FromLookup read. It matches
// dynamo.ErrInvalidConfig, as the SDK's own configuration errors do, so that
// one errors.Is tells a configuration to fix from a failure to get a session.
type configError struct{ err error }

func configErr(err error) error { return &configError{err} }

func (e *configError) Error() string { return e.err.Error() }

func (e *configError) Unwrap() error { return e.err }

// Is matches dynamo.ErrInvalidConfig.
func (e *configError) Is(target error) bool { return target == dynamo.ErrInvalidConfig }

// TokenError is a token endpoint's refusal to give a session: Salesforce's
// answer other than success, with its "error" and "error_description". A
// refusal such as invalid_grant or invalid_client is reported at once; a 5xx
// or 429 only once the retries ran out. No field holds a secret, even when
// the endpoint echoed one.
type TokenError struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Code is Salesforce's "error", like "invalid_grant" or
	// "invalid_client"; empty when the answer did not say.
	Code string
	// Description is Salesforce's "error_description", like "user hasn't
	// approved this consumer"; when the answer was not Salesforce's JSON,
	// the start of its body, on one line.
	Description string
	// URL is the token endpoint.
	URL string
	// Attempts is how many times the endpoint was asked.
	Attempts int
}

// Error says who refused and why, in Salesforce's words.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce: token endpoint %s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// transient reports whether asking again may succeed.
func (e *TokenError) transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

const redacted = "[REDACTED]"

// redact is what a config's String, GoString and LogValue show of a
// secret: nothing when it is empty, redacted otherwise.
func redact[T string | []byte](secret T) string {
	if len(secret) == 0 {
		return ""
	}
	return redacted
}

// sessionPattern matches what looks like a Salesforce session (an access
// token): an org ID, "!", and the rest. Every text that comes from outside
// (an endpoint's answer, the CLI's output) loses such strings before it
// reaches an error, whatever else is known of the secrets.
// A JWT (an assertion of the JWT bearer flow, a credential while it is
// valid) is removed too.
var sessionPattern = regexp.MustCompile(`00D[0-9A-Za-z]{12}![^\s"',;]+|eyJ[0-9A-Za-z_-]*\.[0-9A-Za-z_-]+\.[0-9A-Za-z_-]*`)

// secrets removes known secrets, and anything that looks like a session,
// from text.
type secrets []string

// apply removes the secrets, and anything that looks like a session, from
// text. A secret is also removed in the forms a request carried it in, which an
// endpoint may echo as they arrived: escaped as in a form or a query, and
// as in a path.
func (s secrets) apply(text string) string {
	for _, secret := range s {
		if len(secret) < 4 {
			continue
		}
		for _, form := range [...]string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			text = strings.ReplaceAll(text, form, redacted)
		}
	}
	return sessionPattern.ReplaceAllString(text, redacted)
}

// clean makes outside text fit for an error: secrets removed, on one line,
// without control characters, at most about 300 bytes.
func (s secrets) clean(text string) string {
	text = s.apply(text)
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	text = strings.Join(strings.Fields(text), " ")
	const limit = 300
	if len(text) > limit {
		cut := limit
		for cut > 0 && text[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}
