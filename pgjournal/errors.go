package pgjournal

import (
	"fmt"

	"github.com/dynamokit/dynamo"
)

// errorf is fmt.Errorf with the package's prefix and the password
// redacted.
func (s *Store) errorf(format string, args ...any) error {
	return redact(fmt.Errorf("pgjournal: "+format, args...), s.password())
}

// lostErr is the error of a run that no longer holds the job, found while
// doing what ("appending") because of detail: it matches
// dynamo.ErrJournalLost and unwraps to cause (nil when the job was taken
// over), and says "pgjournal: " once, without ErrJournalLost's own prefix.
func (s *Store) lostErr(what string, cause error, detail string) error {
	msg := "pgjournal: " + what + ": the job is no longer held by this run: " + detail
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return redact(&lostError{msg: msg, err: cause}, s.password())
}

// lostError is lostErr's error.
type lostError struct {
	msg string
	err error
}

func (e *lostError) Error() string { return e.msg }

func (e *lostError) Unwrap() error { return e.err }

// Is matches dynamo.ErrJournalLost.
func (e *lostError) Is(target error) bool { return target == dynamo.ErrJournalLost }
