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
