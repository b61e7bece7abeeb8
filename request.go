package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"

	"github.com/hashicorp/go-retryablehttp"
)

// The credential headers sent with every API request.
const (
	headerTenantID = "X-Dynamo-Tenant-Id"
	headerAPIKey   = "X-Dynamo-Api-Key"
)

// expectContinueSize is the body size from which a request asks the server
// to accept it before the body is sent (Expect: 100-continue), as curl does
// from 1 MiB: a refusal (401, 413, 429, 503) then costs no upload, leaves a
// single-use template unread, so that it can be retried, and over HTTP/2
// lets net/http size its frames to the server's settings instead of 16 KiB
// (see internal/bench/uploadbench). A server that never answers 100 Continue
// delays the body by the transport's ExpectContinueTimeout.
const expectContinueSize = 1 << 20

// request is one logical call: one or more attempts of the same HTTP request.
type request struct {
	method string
	path   string // escaped path below the base URL
	// resultURL, when set, is a result file's URL on a storage host: the
	// request then carries no credentials, and its query (a signature) is
	// kept out of every log line and error.
	resultURL   *url.URL
	contentType string
	body        func() (io.ReadCloser, error) // a fresh body per attempt; nil for none
	// data is the whole body when it is in memory (a JSON post), in place
	// of body.
	data      []byte
	size      int64 // exact body size, or -1 when unknown
	singleUse bool  // the body cannot be produced twice once read
	// integration is the request's Salesforce session, or nil: its ID is a
	// secret besides the API key. A post's may be one with a source until
	// withSession has its session.
	integration *Integration
	// encode, set for a post, makes the body, and with it the rest of the
	// request above, once the post's session is known (nil without
	// Salesforce): the session is had only as the post is made.
	encode func(in *Integration) (*request, error)
	// out receives the decoded JSON of a 2xx answer; when it is a
	// resultHolder, it also tells whether it holds the call's result (for a
	// post, the ID). With a nil out, the answer's body is left open for the
	// caller.
	out any
}

// resultHolder is an answer that can decode without giving the call's
// result, such as a post's answer without the ID.
type resultHolder interface {
	hasResult() bool
}

func (r *request) isPost() bool { return r.method == http.MethodPost }

func (r *request) hasBody() bool { return r.body != nil || r.data != nil }

// open returns a fresh body for one attempt.
func (r *request) open() (io.ReadCloser, error) {
	if r.data != nil {
		return io.NopCloser(bytes.NewReader(r.data)), nil
	}
	return r.body()
}

// display is the request's path as logs and errors show it: for a result
// file, its host and path without the query.
func (r *request) display() string {
	if r.resultURL != nil {
		return r.resultURL.Host + r.resultURL.EscapedPath()
	}
	return r.path
}

// signedQuery lists what of a result URL's query must not be shown: the
// query as a whole, and each value, decoded and not, in case a storage host
// echoes the URL in another form. Values too short to be a credential stay.
func signedQuery(u *url.URL) redactor {
	secrets := redactor{u.RawQuery}
	for _, values := range u.Query() {
		for _, v := range values {
			if len(v) >= 8 {
				secrets = append(secrets, v, url.QueryEscape(v))
			}
		}
	}
	return secrets
}

// callKey carries a request's *call in the context of its attempts, so that
// the retrying client, shared by every call, reaches the call's state.
type callKey struct{}

func callOf(ctx context.Context) *call { return ctx.Value(callKey{}).(*call) }

// do sends r through the retry policy. On success it decodes the answer into
// r.out and returns a nil response, or, with a nil r.out, returns the
// response with its body open for the caller to read and close. Any other
// outcome is a typed error.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	if r.encode != nil {
		post, err := c.withSession(ctx, r)
		if err != nil {
			return nil, err
		}
		r = post
	}
	// The call holds a copy of r, so that the caller's request need not
	// escape to the heap.
	cl := &call{client: c, req: *r}
	r = &cl.req
	target := c.base + r.path
	if r.resultURL != nil {
		target = r.resultURL.String()
	}
	ctx = context.WithValue(ctx, callKey{}, cl)
	if r.data != nil && r.size < expectContinueSize {
		// net/http writes a body it knows to be in memory (a
		// *bytes.Reader) with the headers, in one write; any other reader
		// costs a second write and a wakeup of the server, which makes a
		// small post on loopback about a quarter slower. Such a body is
		// handed over as it is, and the delivery trace, instead of a
		// wrapper, tells what of it was written.
		cl.inMemory = true
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteHeaders: func() { cl.onWire.Store(true) }, // the body goes in the same write
			WroteRequest: cl.wroteRequest,
		})
	}
	var body any // nil, or a ReaderFunc: never a plain reader, which retryablehttp would buffer
	if r.hasBody() {
		body = retryablehttp.ReaderFunc(cl.openBody)
	}
	cl.building = true
	hreq, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, body)
	cl.building = false
	if err != nil {
		return nil, fmt.Errorf("dynamo: %s %s: %w", r.method, r.display(), err)
	}
	h := hreq.Header
	if r.hasBody() {
		// net/http may send a request again on its own through GetBody:
		// to follow a 307 or 308, and over a new connection after some
		// failures. A post is sent again only when classify says so:
		// without GetBody, net/http resends it only while none of its body
		// was read, and returns a 307 or 308 as the answer.
		hreq.GetBody = nil
		hreq.ContentLength = max(r.size, 0) // 0 with a body: unknown, sent chunked
		h.Set("Content-Type", r.contentType)
		if r.size < 0 || r.size >= expectContinueSize {
			h.Set("Expect", "100-continue")
		}
	}
	if r.resultURL == nil {
		h.Set(headerTenantID, c.tenantID)
		h.Set(headerAPIKey, c.apiKey)
		h.Set("Accept", "application/json")
	}
	h.Set("User-Agent", c.userAgent)

	resp, err := c.retry.Do(hreq)
	if err != nil {
		if resp != nil { // the retry that was to follow did not start: already drained
			resp.Body.Close()
		}
		return nil, cl.noAnswer(ctx, err)
	}
	return cl.answer(ctx, resp)
}

// getJSON reads the resource at path into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	_, err := c.do(ctx, &request{method: http.MethodGet, path: path, out: out})
	return err
}

// call is the state of one logical request across its attempts.
type call struct {
	client   *Client
	req      request
	secrets  redactor // made by redactor when first needed
	attempts int
	// building is set while retryablehttp builds the request: it then
	// calls the body's ReaderFunc once, only to look for a length.
	building bool
	// inMemory is set when the body goes to the transport as a
	// *bytes.Reader, whose delivery the trace reports.
	inMemory bool
	// Set by the body of the current attempt, read once it ends.
	bodyStarted atomic.Bool  // some byte of a body was read, in any attempt
	onWire      atomic.Bool  // some of the current attempt reached the connection
	bodySent    atomic.Bool  // the whole body of the current attempt was read
	bodyBytes   atomic.Int64 // bytes of the current attempt's body read
	// last is the decision on the attempt that ended last.
	last decision
	// retrying is set between an attempt that will be retried and the next
	// one: the last attempt's outcome is known (for a post, not taken).
	retrying bool
}

// redactor returns every secret of the call: the API key, a result URL's
// query and the request's session. It is made when an error or a log line
// first needs it, so that a call that succeeds never makes it.
func (cl *call) redactor() redactor {
	if cl.secrets == nil {
		r := &cl.req
		cl.secrets = redactor{cl.client.apiKey}
		if r.resultURL != nil {
			cl.secrets = append(cl.secrets, signedQuery(r.resultURL)...)
		}
		cl.secrets = append(cl.secrets, r.integration.secrets()...)
	}
	return cl.secrets
}

// openBody produces the body of one attempt. A single-use body that was
// already read cannot be produced again.
func (cl *call) openBody() (io.Reader, error) {
	if cl.building {
		// do sets the length on the request itself: a body opened for
		// this look would only be closed again.
		return http.NoBody, nil
	}
	cl.onWire.Store(false)
	cl.bodySent.Store(false)
	cl.bodyBytes.Store(0)
	if cl.req.singleUse && cl.bodyStarted.Load() {
		return nil, ErrNotReplayable
	}
	if cl.inMemory {
		return bytes.NewReader(cl.req.data), nil
	}
	rc, err := cl.req.open()
	if err != nil {
		return nil, err
	}
	return &trackedBody{rc: rc, call: cl}, nil
}

// wroteRequest is the trace's report that the transport finished writing
// an attempt with an in-memory body: without an error, the whole body.
func (cl *call) wroteRequest(info httptrace.WroteRequestInfo) {
	if info.Err == nil {
		cl.bodyStarted.Store(true)
		cl.bodySent.Store(true)
	}
}

// trackedBody records how much of a body the transport has read, which tells
// whether a post whose connection failed may have reached the server whole.
type trackedBody struct {
	rc   io.ReadCloser
	call *call
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.call.onWire.Store(true)
		b.call.bodyStarted.Store(true)
		total := b.call.bodyBytes.Add(int64(n))
		if size := b.call.req.size; size >= 0 && total >= size {
			b.call.bodySent.Store(true)
		}
	}
	if err == io.EOF {
		b.call.bodySent.Store(true)
	}
	return n, err
}

func (b *trackedBody) Close() error { return b.rc.Close() }

// attempt describes the attempt that just ended.
func (cl *call) attempt(ctx context.Context, resp *http.Response, err error) attempt {
	a := attempt{
		method:      cl.req.method,
		bodySent:    cl.bodySent.Load(),
		err:         err,
		ctxDone:     ctx.Err() != nil,
		noRetryLeft: cl.attempts > cl.client.retry.RetryMax,
		bodyUsedUp:  cl.req.singleUse && cl.bodyStarted.Load(),
		stopped:     cl.retrying,
	}
	if resp != nil && err == nil {
		a.status = resp.StatusCode
		a.retryAfter = resp.Header.Get("Retry-After")
	}
	return a
}

func (c *Client) policy() retryPolicy {
	return retryPolicy{maxWait: c.retryWaitMax, now: c.now()}
}

// attemptStarts runs before every attempt.
func (c *Client) attemptStarts(_ retryablehttp.Logger, req *http.Request, i int) {
	cl := callOf(req.Context())
	cl.attempts = i + 1
	cl.retrying = false
	if c.logger.Enabled(req.Context(), slog.LevelDebug) {
		c.logger.LogAttrs(req.Context(), slog.LevelDebug, "dynamo: request",
			slog.String("method", cl.req.method), slog.String("path", cl.req.display()), slog.Int("attempt", cl.attempts))
	}
}

// checkRetry classifies the attempt that just ended and reports whether it is
// sent again.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	cl := callOf(ctx)
	cl.last = classify(cl.attempt(ctx, resp, err), c.policy())
	if cl.last.verdict != verdictRetry {
		return false, nil
	}
	if err != nil { // the log line says what went wrong, not only its kind
		cl.last.reason = cl.redactor().apply(noAnswerText(err))
	}
	cl.retrying = true
	return true, nil
}

// prepareRetry waits before the next attempt: what the server asked for in
// Retry-After, or else the jittered backoff. A done context ends the wait,
// and the call, at once.
func (c *Client) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	cl := callOf(ctx)
	wait := jitteredBackoff(c.retryWaitMin, c.retryWaitMax, cl.attempts-1)
	if cl.last.hasRetryAfter {
		wait = cl.last.retryAfter
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "dynamo: retrying",
			slog.String("method", cl.req.method), slog.String("path", cl.req.display()),
			slog.Int("retry", cl.attempts), slog.String("reason", cl.last.reason), slog.Duration("wait", wait))
	}
	return c.sleep(ctx, wait)
}

// answer turns the final answer into the call's result.
func (cl *call) answer(ctx context.Context, resp *http.Response) (*http.Response, error) {
	d := cl.last
	switch code := resp.StatusCode; {
	case code >= 300 && code <= 399:
		defer resp.Body.Close()
		detail := "a redirect, not followed: it would send the API key to another host"
		if cl.req.isPost() {
			detail = "a redirect, not followed: a post is never sent twice"
		}
		return nil, cl.apiError(ctx, resp, d, readErrorBody(resp.Body), detail)
	case code < 200 || code > 299:
		defer resp.Body.Close()
		return nil, cl.replayNote(cl.apiError(ctx, resp, d, readErrorBody(resp.Body), ""), d)
	}
	if cl.req.out == nil {
		return resp, nil
	}
	defer resp.Body.Close()
	a := cl.attempt(ctx, resp, nil)
	data, err := readAnswer(resp)
	var cause error // what cut the answer short
	if tooLarge := (*answerTooLargeError)(nil); err != nil && !errors.As(err, &tooLarge) {
		cause = err
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
	}
	h, holdsResult := cl.req.out.(resultHolder)
	if err == nil {
		err = decodeJSON(data, cl.req.out)
		// A field of another type than documented does not undo a post
		// whose ID came back: the batch or task exists.
		var typeErr *json.UnmarshalTypeError
		if holdsResult && errors.As(err, &typeErr) && h.hasResult() {
			err = nil
		}
	}
	if holdsResult && err == nil && !h.hasResult() {
		err = errors.New("the answer has no ID")
	}
	a.decoded = err == nil
	if d = classify(a, retryPolicy{}); d.verdict == verdictSuccess {
		return nil, nil
	}
	if len(data) > maxErrorBody {
		data = data[:maxErrorBody]
	}
	e := cl.apiError(ctx, resp, d, data, err.Error())
	e.Err = cause
	return nil, cl.replayNote(e, d)
}

// noAnswer turns a call that ended without a usable answer into a typed
// error.
func (cl *call) noAnswer(ctx context.Context, err error) error {
	r := &cl.req
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = r.display() // a result URL's query, or a redirect's target chosen by the server
	}
	return cl.transportError(ctx, err, classify(cl.attempt(ctx, nil, err), cl.client.policy()))
}
