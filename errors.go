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
	// task, or one whose status is no longer kept.
	ErrNotFound = errors.New("dynamo: not found")
	// ErrUnauthorized matches an *APIError with status 401 or 403: the tenant
	// ID or API key was refused. From DownloadResult, a storage host's 403
	// most often means that the result URL expired: read the status again
	// for a fresh one.
	ErrUnauthorized = errors.New("dynamo: unauthorized")
	// ErrRateLimited matches an *APIError with status 429 that was still
	// refused after the retries allowed.
	ErrRateLimited = errors.New("dynamo: rate limited")
	// ErrTooManyTasks matches a *ValidationError of a batch with more than
	// MaxTasksPerBatch tasks.
	ErrTooManyTasks = errors.New("dynamo: too many tasks in one batch")
	// ErrOutcomeUnknown matches the error of a post that the server may have
	// taken although the SDK did not learn the batch or task ID: the
	// connection broke after the whole body was sent, a 5xx other than 501,
	// 503 and 505, a redirect, or a success whose body does not give the ID
	// (the package documentation lists every case). The batch (or task) may
	// exist: posting it again may run it twice. The API cannot list batches:
	// look for it in the vendor's console before posting again.
	ErrOutcomeUnknown = errors.New("dynamo: outcome unknown, the batch or task may have been created")
	// ErrUnexpectedResponse matches an *APIError whose status was success but
	// whose body could not be used: malformed or truncated JSON, a field of
	// the wrong type, no ID, a body over the size limit; and a
	// *BatchTaskCountError.
	ErrUnexpectedResponse = errors.New("dynamo: unexpected response")
	// ErrNotReplayable matches the error of a request that needed another
	// attempt but whose template came from TemplateFromReader and had already
	// been read: the SDK cannot send it again.
	ErrNotReplayable = errors.New("dynamo: request body cannot be sent again")
)

// Bounds on what is read of a response body.
const (
	maxErrorBody    = 64 << 10 // of an answer that is not a success
	maxResponseBody = 16 << 20 // of a success; a 1000-task status is about 75 KB
)

// APIError is an answer from the API that is not the call's result: a status
// other than success, or a success whose body could not be used (it then
// matches ErrUnexpectedResponse). Its Error method and fields never include
// the API key, a session ID or a result URL's signed query, even when the
// server echoed them.
type APIError struct {
	StatusCode int    // HTTP status code
	Method     string // request method
	// Path is the request's path below the base URL, like "/v1/batch". For
	// DownloadResult it is the storage host and path of the result URL,
	// like "bucket.example.com/files/a.pdf", without the query, which is a
	// credential.
	Path string
	// Message is the server's "message" when the body was JSON with one,
	// otherwise the start of the body as text; either way on one line,
	// without control characters, and at most about 200 bytes. For a success
	// whose body could not be used, it says why.
	Message string
	// Body is the start of the body as received (at most 64 KiB).
	Body []byte
	// RetryAfter is the wait the server asked for in Retry-After, if any.
	RetryAfter time.Duration
	// RequestID is the request ID the server sent in one of the usual
	// headers (X-Request-Id, Request-Id, X-Amzn-RequestId, X-Amz-Request-Id,
	// X-Correlation-Id), if any: quote it to the vendor's support.
	RequestID string
	// Attempts is how many times the request was sent.
	Attempts int
	// OutcomeUnknown is set for a post that the server may have taken (a
	// 5xx other than 501, 503 and 505, a redirect, or a success without the
	// ID); the error then matches ErrOutcomeUnknown.
	OutcomeUnknown bool
	// Err is what cut a success's body short (the context's error when the
	// context ended), or nil.
	Err error
}

// Error describes the failure: method, path, status and message.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request ID %s)", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.OutcomeUnknown {
		b.WriteString(mayExist(e.Path))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *APIError) Unwrap() error { return e.Err }

// Is matches the sentinel errors: ErrNotFound, ErrUnauthorized and
// ErrRateLimited by status code, ErrUnexpectedResponse for a success status,
// ErrOutcomeUnknown when OutcomeUnknown is set.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrUnexpectedResponse:
		return e.StatusCode >= 200 && e.StatusCode <= 299
	case ErrOutcomeUnknown:
		return e.OutcomeUnknown
	}
	return false
}

// TransportError is a request that got no answer: the connection could not
// be made or broke, a timeout, the context ended, a refused certificate, or
// a template that could not be read. (A redirect the SDK does not follow is
// an answer: an *APIError.) Its Error method never includes a secret.
type TransportError struct {
	Method   string // request method
	Path     string // as in APIError.Path
	Attempts int    // how many times the request was sent
	// OutcomeUnknown is set for a post whose whole body was sent before the
	// connection failed: the server may have taken it. The error then
	// matches ErrOutcomeUnknown.
	OutcomeUnknown bool
	// Err is the cause: the context's error when the context ended (so that
	// errors.Is(err, context.Canceled) holds), else the transport's.
	Err error

	msg      string // the cause's text, secrets removed
	notTaken string // for a failed post, what was sent and why it was not taken
}

// Error describes the failure: the request, the cause, and for a post
// whether it was sent and what follows for the batch or task.
func (e *TransportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: %s %s", e.Method, e.Path)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	msg := e.msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	fmt.Fprintf(&b, ": %s", msg)
	switch {
	case e.OutcomeUnknown:
		b.WriteString("; the whole request was sent but no answer came back")
		b.WriteString(mayExist(e.Path))
	case e.notTaken != "":
		b.WriteString("; " + e.notTaken + ", so the " + postedThing(e.Path) + " was not created: it can be posted again")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *TransportError) Unwrap() error { return e.Err }

// Is matches ErrOutcomeUnknown when OutcomeUnknown is set.
func (e *TransportError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.OutcomeUnknown
}

// mayExist is the warning of an unknown outcome.
func mayExist(path string) string {
	return "; the " + postedThing(path) + " may have been created: look for it in the Dynamo console before posting again"
}

// postedThing is what a post to path creates: "batch" or "task".
func postedThing(path string) string {
	if strings.HasPrefix(path, "/v1/task") {
		return "task"
	}
	return "batch"
}

// Problem is one reason why a request is invalid.
type Problem struct {
	Field   string // the path of the offending value, like "tasks[3].params.id"
	Message string // what is wrong with it
	// Err is a sentinel error the problem matches, like ErrTooManyTasks, or
	// nil. A *ValidationError matches, with errors.Is, the Err of each of
	// its problems.
	Err error
}

// String returns "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Message }

// ValidationError lists every problem found in a request before anything was
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

// Unwrap returns the problems' sentinel errors, so that errors.Is finds them.
func (e *ValidationError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// BatchTaskCountError is returned by the post calls, together with the response,
// when the API accepted the batch but listed a different number of task IDs
// than tasks were posted. The batch exists: do not post it again.
type BatchTaskCountError struct {
	Posted   int            // tasks posted
	Response *BatchResponse // the answer as received
}

// Error describes the mismatch.
func (e *BatchTaskCountError) Error() string {
	return fmt.Sprintf("dynamo: batch %s accepted with %s for %s posted; the batch exists: do not post it again",
		e.Response.ID, count(len(e.Response.TaskIDs), "task ID"), count(e.Posted, "task"))
}

// count is "1 task" or "2 tasks": n and the noun, in the plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Is matches ErrUnexpectedResponse.
func (e *BatchTaskCountError) Is(target error) bool { return target == ErrUnexpectedResponse }

// BatchTaskStatusError is a failure to read the status of one task of a batch,
// as BatchTaskStatuses yields it.
type BatchTaskStatusError struct {
	TaskID string
	Err    error
}

// Error names the task.
func (e *BatchTaskStatusError) Error() string {
	return fmt.Sprintf("dynamo: task %s: %s", e.TaskID, strings.TrimPrefix(e.Err.Error(), "dynamo: "))
}

// Unwrap returns Err.
func (e *BatchTaskStatusError) Unwrap() error { return e.Err }

// problems collects validation problems.
type problems []Problem

func (p *problems) add(field, msg string) { *p = append(*p, Problem{Field: field, Message: msg}) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// requestIDHeaders are the headers in which servers commonly send a request
// ID, in the order they are looked for.
var requestIDHeaders = []string{"X-Request-Id", "Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id", "X-Correlation-Id"}

// requestID returns the first request ID header's value, if it looks like
// one: short, printable, and holding none of the request's secrets (a server
// may echo a header).
func requestID(h http.Header, secrets redactor) string {
	for _, name := range requestIDHeaders {
		if v := h.Get(name); v != "" {
			if len(v) > 128 || hasControl(v) || secrets.apply(v) != v {
				return ""
			}
			return v
		}
	}
	return ""
}
