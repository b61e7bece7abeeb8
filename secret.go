package dynamo

import (
	"fmt"
	"log/slog"
	"strings"
)

const redacted = "[REDACTED]"

// redactor removes known secret values from text that may have come from
// elsewhere, such as an error body in which a server echoed a request.
type redactor []string

func (r redactor) apply(s string) string {
	for _, secret := range r {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// trimCut drops the end of s when it is the start of a secret: text cut at a
// length bound may end in part of one, which apply does not recognize.
func (r redactor) trimCut(s string) string {
	for trimmed := true; trimmed; {
		trimmed = false
		for _, secret := range r {
			for n := min(len(secret)-1, len(s)); n > 0; n-- {
				if strings.HasSuffix(s, secret[:n]) {
					s, trimmed = s[:len(s)-n], true
					break
				}
			}
		}
	}
	return s
}

// hasControl reports whether s contains a control character (which could end
// a header line early and inject another).
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

// formatRedacted writes v for every fmt verb, so that no verb (%v, %+v, %#v,
// %s, %q) can reach the fields that hold a secret.
func formatRedacted(f fmt.State, verb rune, plain, goSyntax string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, goSyntax)
	case verb == 'q':
		fmt.Fprintf(f, "%q", plain)
	default:
		fmt.Fprint(f, plain)
	}
}

var _ slog.LogValuer = (*Integration)(nil)
