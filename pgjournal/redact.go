package pgjournal

import "strings"

// redacted is an error whose text has the database password replaced; it
// unwraps to the error it redacts, so errors.Is and errors.As still see
// through it.
type redacted struct {
	err      error
	password string
}

func (e *redacted) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.password, "xxxxx")
}

func (e *redacted) Unwrap() error { return e.err }

// redact keeps password out of err's text. A driver's error names the
// host, user and database it connected to, never the password, but an
// error of the server or of a hook may quote what it was given.
func redact(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	return &redacted{err: err, password: password}
}
