package dynamo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Errors that callers test for with errors.Is.
var (
	// ErrNotFound matches an *APIError with status 404: an unknown batch or
	// task, or one posted more than 24 hours ago.
	ErrNotFound = errors.New("dynamo: not found")
	// ErrUnauthorized matches an *APIError with status 401 or 403: the tenant
	// ID or API key was refused.
	ErrUnauthorized = errors.New("dynamo: unauthorized")
	// ErrRateLimited matches an *APIError with status 429 that was still
	// refused after the retries allowed.
	ErrRateLimited = errors.New("dynamo: rate limited")
	// ErrTooManyTasks matches a *ValidationError of a batch with more than
	// MaxTasksPerBatch tasks.
	ErrTooManyTasks = errors.New("dynamo: too many tasks in one batch")
	// ErrOutcomeUnknown matches the error of a post whose request may have
	// reached the server but whose answer was lost (the connection broke after
	// the body was sent, a timeout, 500, 502 or 504). The batch may have been
	// created: check before posting it again.
	ErrOutcomeUnknown = errors.New("dynamo: outcome unknown, the batch may have been created")
	// ErrUnexpectedResponse matches an answer whose status was success but
	// whose body could not be understood: malformed or truncated JSON, a field
	// of the wrong type, a body over the size limit, or a task count that
	// differs from what was posted.
	ErrUnexpectedResponse = errors.New("dynamo: unexpected response")
	// ErrNotReplayable matches the error of a request that needed another
	// attempt but whose template came from TemplateFromReader and had already
	// been read: the SDK cannot send it again.
	ErrNotReplayable = errors.New("dynamo: request body cannot be sent again")
)

// maxErrorBody bounds how much of any error body is read.
const maxErrorBody = 64 << 10

// APIError is an answer from the API other than the documented success. Its
// Error method never includes the API key or a session ID, even when the
// server echoed them.
type APIError struct {
	StatusCode int    // HTTP status code
	Method     string // request method
	Path       string // request path, without the host
	// Message is the server's "message" when the body was JSON with one,
	// otherwise the start of the body as text; either way on one line,
	// without control characters, and at most about 200 bytes.
	Message string
	// Body is the start of the body as received (at most 64 KiB).
	Body []byte
	// RetryAfter is the wait the server asked for in Retry-After, if any.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent.
	Attempts int
	// OutcomeUnknown is set for a post answered with a status that does not
	// tell whether the batch was created (500, 502, 504); the error then
	// matches ErrOutcomeUnknown.
	OutcomeUnknown bool
}

// Error describes the failure: method, path, status and message.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.OutcomeUnknown {
		b.WriteString("; the batch may have been created, check before posting again")
	}
	return b.String()
}

// Is reports whether the error matches one of the sentinel errors by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrOutcomeUnknown:
		return e.OutcomeUnknown
	}
	return false
}

// Problem is one reason why a batch is invalid.
type Problem struct {
	Field   string // the path of the offending value, like "tasks[3].params.id"
	Message string // what is wrong with it
}

// String returns "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Message }

// ValidationError lists every problem found in a batch before anything was
// sent.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, separated by semicolons.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problems"
	if len(parts) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("dynamo: invalid request (%d %s): %s", len(parts), noun, strings.Join(parts, "; "))
}

// Is reports whether the batch had more than MaxTasksPerBatch tasks when
// target is ErrTooManyTasks.
func (e *ValidationError) Is(target error) bool {
	if target != ErrTooManyTasks {
		return false
	}
	for _, p := range e.Problems {
		if p.Field == "tasks" && strings.HasPrefix(p.Message, tooManyTasksPrefix) {
			return true
		}
	}
	return false
}

// TaskCountError is returned by the post calls, together with the response,
// when the API accepted the batch but listed a different number of task IDs
// than tasks were posted. The batch exists: do not post it again.
type TaskCountError struct {
	Posted   int            // tasks posted
	Response *BatchResponse // the answer as received
}

// Error describes the mismatch.
func (e *TaskCountError) Error() string {
	return fmt.Sprintf("dynamo: batch %s accepted with %d task IDs for %d tasks posted", e.Response.ID, len(e.Response.TaskIDs), e.Posted)
}

// Is matches ErrUnexpectedResponse.
func (e *TaskCountError) Is(target error) bool { return target == ErrUnexpectedResponse }

// problems collects validation problems.
type problems []Problem

func (p *problems) add(field, msg string) { *p = append(*p, Problem{Field: field, Message: msg}) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}
