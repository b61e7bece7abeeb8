package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dynamokit/dynamo"
)

// Exit codes.
const (
	exitOK         = 0 // everything done, no task errors
	exitFailed     = 1 // a call failed
	exitUsage      = 2 // bad usage or input
	exitTaskErrors = 3 // the batch or task completed, but some tasks had errors
)

// exitError carries the exit code a command ends with. A nil err ends with
// code and no message (the command has already said what happened).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as bad usage or input (exit code 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// usageErrorf is usageErr of a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageErr(fmt.Errorf(format, args...))
}

// errTaskErrors ends a command that has reported task errors (exit code 3).
var errTaskErrors = &exitError{code: exitTaskErrors}

// callErr describes a failed call of the batch API in words a user can act
// on; the SDK's errors never contain the API key or the session ID. The
// result still matches err with errors.Is.
func callErr(what string, err error) error {
	return describeErr(what, err, "unknown, or posted more than 24 hours ago")
}

// taskCallErr is callErr for the Task API, whose statuses are kept for a
// time the API does not document.
func taskCallErr(what string, err error) error {
	return describeErr(what, err, "unknown, or its status is no longer kept")
}

func describeErr(what string, err error, notFound string) error {
	msg := what + ": " + strings.TrimPrefix(err.Error(), "dynamo: ")
	switch {
	case errors.Is(err, context.Canceled) && errors.Is(err, dynamo.ErrOutcomeUnknown):
		msg = what + ": interrupted after the request was sent, so it may have been created: look for it in the Dynamo console before posting again"
	case errors.Is(err, context.Canceled):
		msg = what + ": interrupted"
	case errors.Is(err, dynamo.ErrUnauthorized):
		msg += fmt.Sprintf(" (check %s and %s)", dynamo.EnvTenantID, dynamo.EnvAPIKey)
	case errors.Is(err, dynamo.ErrNotFound):
		msg += " (" + notFound + ")"
	}
	return &describedError{msg: msg, err: err}
}

// downloadErr describes a failed download. A storage host's refusal (403)
// is about the URL, not the API's credentials: result URLs expire.
func downloadErr(err error) error {
	if errors.Is(err, dynamo.ErrUnauthorized) {
		return &describedError{err: err, msg: "download: " + strings.TrimPrefix(err.Error(), "dynamo: ") +
			" (the storage host refused the URL: result URLs are valid about an hour; run the command again for fresh ones)"}
	}
	return callErr("download", err)
}

// describedError is err with a message of its own.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// validationErr words a request that the SDK refused before sending it,
// what being "batch" or "task": bad input, exit code 2. Any other error is
// returned as it is.
func validationErr(what string, err error) error {
	var ve *dynamo.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the %s is invalid, nothing was sent:", what)
	for _, p := range ve.Problems {
		fmt.Fprintf(&b, "\n  %s", p)
		if p.Field == "params.id" {
			b.WriteString(" (give --param id=RECORD: with a Salesforce session the task is for a record; 'dynamo auth' shows where the session comes from)")
		}
	}
	return usageErr(errors.New(b.String()))
}
