package dynamo

import "strings"

// sentinels are the package's errors whose text a store, a source or a
// caller's code may wrap in its own, like "redis: " + ErrJournalLost.
var sentinels = []error{
	ErrJournalInUse, ErrJournalLost, ErrJournalMismatch, ErrBulkStopped, ErrSourceChanged,
	ErrOutcomeUnknown, ErrInvalidConfig, ErrNotFound, ErrUnauthorized, ErrRateLimited,
	ErrTooManyTasks, ErrUnexpectedResponse, ErrNotReplayable, ErrNoSession, ErrSessionNotEncoded,
}

// detail is err's text as it follows the SDK's own words, which begin with
// "dynamo: " already: without the "dynamo: " that begins it, nor the one
// that begins any of the package's errors that another error wraps, so
// that a message says "dynamo: " once.
func detail(err error) string {
	s := strings.TrimPrefix(err.Error(), "dynamo: ")
	for _, e := range sentinels {
		if text := e.Error(); strings.Contains(s, text) {
			s = strings.ReplaceAll(s, text, strings.TrimPrefix(text, "dynamo: "))
		}
	}
	return s
}

// wrapError is an error in the SDK's own words around another error, which
// it unwraps to.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }

func (e *wrapError) Unwrap() error { return e.err }
