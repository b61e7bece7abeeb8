package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// transportError is the error of a call whose last attempt got no usable
// answer, decided d.
func (cl *call) transportError(ctx context.Context, err error, d decision) error {
	r := &cl.req
	cause := err
	if ctx.Err() != nil {
		cause = ctx.Err() // so that errors.Is(err, context.Canceled) holds
	}
	e := &TransportError{
		Method:         r.method,
		Path:           r.display(),
		Attempts:       cl.attempts,
		OutcomeUnknown: d.verdict == verdictUnknown,
		Err:            cause,
		msg:            cl.redactor().apply(noAnswerText(err)),
	}
	if r.isPost() && !e.OutcomeUnknown {
		switch {
		case cl.retrying:
			e.notTaken = "stopped before sending it again after " + cl.last.reason
		case cl.onWire.Load():
			e.notTaken = "the request was cut before its end"
		default:
			e.notTaken = "nothing of the request body was sent"
		}
	}
	cl.logFailure(ctx, d, slog.String("error", e.msg))
	if errors.Is(err, ErrNotReplayable) || d.notReplayable {
		return fmt.Errorf("%w: %w: a template from TemplateFromReader is read once; use TemplateFromFile or TemplateFromOpener to allow retries", e, ErrNotReplayable)
	}
	return e
}

// apiError describes an answer that is not the call's result; detail says
// why a 2xx answer could not be used.
func (cl *call) apiError(ctx context.Context, resp *http.Response, d decision, body []byte, detail string) *APIError {
	secrets := cl.redactor()
	text := string(body)
	if len(body) == maxErrorBody { // perhaps cut, and inside an echoed secret
		text = secrets.trimCut(text)
	}
	body = []byte(secrets.apply(text))
	e := &APIError{
		StatusCode:     resp.StatusCode,
		Method:         cl.req.method,
		Path:           cl.req.display(),
		Message:        errorMessage(body, secrets.apply),
		Body:           body,
		RequestID:      requestID(resp.Header, secrets),
		Attempts:       cl.attempts,
		OutcomeUnknown: d.verdict == verdictUnknown,
	}
	if detail != "" {
		e.Message = secrets.apply(detail)
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), cl.client.now()); ok {
		e.RetryAfter = ra
	}
	cl.logFailure(ctx, d, slog.Int("status", e.StatusCode))
	return e
}

// replayNote adds to an answer that would have been retried, decided d, that
// its body could not be sent again.
func (cl *call) replayNote(e *APIError, d decision) error {
	if d.notReplayable {
		return fmt.Errorf("%w; not retried: %w (a template from TemplateFromReader is read once)", e, ErrNotReplayable)
	}
	return e
}

func (cl *call) logFailure(ctx context.Context, d decision, detail slog.Attr) {
	logger := cl.client.logger
	if !logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	logger.LogAttrs(ctx, slog.LevelWarn, "dynamo: request failed",
		slog.String("method", cl.req.method), slog.String("path", cl.req.display()), slog.Int("attempts", cl.attempts),
		detail, slog.String("outcome", d.verdict.String()), slog.String("reason", cl.redactor().apply(d.reason)))
}

// noAnswerText says why no answer came; a body source's failure is told
// without the transport's wrapping.
func noAnswerText(err error) string {
	var srcErr *formdata.SourceError
	if errors.As(err, &srcErr) {
		return srcErr.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) { // the request is told by the SDK's error already
		return ue.Err.Error()
	}
	return err.Error()
}
