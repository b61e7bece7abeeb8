package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://dynamo-api.documill.com"

// The credential headers sent with every API request, in canonical form, so
// that setting them in a header map costs nothing.
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

// idleConnTimeout is how long the default transport keeps an idle
// connection: less than the 60 s after which many servers close theirs.
const idleConnTimeout = 30 * time.Second

// Client talks to the Dynamo batch API and Task API. It is safe for
// concurrent use; create one per tenant and reuse it. Formatting a Client
// with fmt never shows its API key.
type Client struct {
	tenantID     string
	apiKey       string
	baseURL      *url.URL
	base         string // baseURL as text, the prefix of every API request
	httpClient   *http.Client
	retry        *retryablehttp.Client // shared by every call; a call's state travels in its context
	logger       *slog.Logger
	userAgent    string
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
	sleep        func(context.Context, time.Duration) error
	now          func() time.Time
}

// NewClient returns a client for the tenant tenantID (with Salesforce, the
// organization ID) that authenticates with apiKey. It fails when either is
// empty or holds a space or a control character, or when an option is
// invalid. Nil options are skipped.
func NewClient(tenantID, apiKey string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("dynamo: %w", err)
		}
	}
	switch {
	case tenantID == "":
		return nil, errors.New("dynamo: empty tenant ID")
	case apiKey == "":
		return nil, errors.New("dynamo: empty API key")
	case hasControl(tenantID) || strings.ContainsRune(tenantID, ' '):
		return nil, errors.New("dynamo: tenant ID contains a space or control character")
	case hasControl(apiKey) || strings.ContainsRune(apiKey, ' '):
		return nil, errors.New("dynamo: API key contains a space or control character")
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}
	hc := cfg.httpClient // already a copy of the caller's
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Servers and load balancers often close an idle connection after
		// 60 s; a post written onto a connection closed just then is lost
		// with an unknown outcome. Closing idle ones sooner, before the
		// server does, makes that rare.
		tr.IdleConnTimeout = idleConnTimeout
		hc = &http.Client{Transport: tr}
	}
	hc.CheckRedirect = refuseCredentialRedirects(hc.CheckRedirect)
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	ua := fmt.Sprintf("dynamo-go/%s (%s)", Version, runtime.Version())
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	c := &Client{
		tenantID:     tenantID,
		apiKey:       apiKey,
		baseURL:      base,
		base:         base.String(),
		httpClient:   hc,
		logger:       logger,
		userAgent:    ua,
		retryWaitMin: cfg.retryWaitMin,
		retryWaitMax: cfg.retryWaitMax,
		insecureHTTP: cfg.insecureHTTP,
		sleep:        cfg.sleep,
		now:          cfg.now,
	}
	c.retry = &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // the SDK logs through its own slog logger, without secrets
		RetryWaitMin: cfg.retryWaitMin,
		RetryWaitMax: cfg.retryWaitMax,
		RetryMax:     cfg.maxRetries,
		CheckRetry:   c.checkRetry,
		// The wait is slept in PrepareRetry instead, where the call's
		// context, clock and reason are at hand.
		Backoff:        func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry:   c.prepareRetry,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: c.attemptStarts,
	}
	return c, nil
}

// Environment variables read by NewClientFromEnv.
const (
	EnvTenantID = "DYNAMO_TENANT_ID"
	EnvAPIKey   = "DYNAMO_API_KEY"
	EnvBaseURL  = "DYNAMO_BASE_URL"
)

// NewClientFromEnv is NewClient with the tenant ID, API key and (optionally)
// base URL taken from DYNAMO_TENANT_ID, DYNAMO_API_KEY and DYNAMO_BASE_URL.
// Options given override the environment.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	return newClientFromLookup(os.Getenv, opts...)
}

func newClientFromLookup(env func(string) string, opts ...Option) (*Client, error) {
	if u := env(EnvBaseURL); u != "" {
		opts = append([]Option{WithBaseURL(u)}, opts...)
	}
	tenant, key := env(EnvTenantID), env(EnvAPIKey)
	if tenant == "" || key == "" {
		return nil, fmt.Errorf("dynamo: %s and %s must both be set", EnvTenantID, EnvAPIKey)
	}
	return NewClient(tenant, key, opts...)
}

func parseBaseURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("dynamo: base URL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("dynamo: base URL %q: scheme must be https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("dynamo: base URL %q: no host", raw)
	case u.User != nil:
		return nil, errors.New("dynamo: base URL must not contain user info")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("dynamo: base URL %q: must not have a query or fragment", raw)
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("dynamo: base URL %q: plain http would expose the API key; use https (or WithInsecurePlainHTTP)", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("dynamo.Client{tenant: %s, baseURL: %s}", c.tenantID, c.baseURL)
}

// Format implements fmt.Formatter so that no verb shows the API key.
func (c *Client) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, c.String(), c.String())
}

// BaseURL returns the API base URL the client sends requests to.
func (c *Client) BaseURL() string { return c.base }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.httpClient.CloseIdleConnections() }

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
	expect := r.hasBody() && (r.size < 0 || r.size >= expectContinueSize)
	if r.data != nil && !expect {
		// A body the transport knows to be in memory goes out with the
		// headers in one write; any other reader makes it send the
		// headers first, costing a write and a wakeup of the server per
		// post. Such a body is therefore not wrapped to track its reads:
		// the trace tells when it was written whole. (With Expect, the
		// trace also says so of a body withheld, hence the exception.)
		cl.inMemory = true
		cl.trace.WroteHeaders = func() { cl.onWire.Store(true) } // the body follows in the same write
		cl.trace.WroteRequest = cl.wroteRequest
		ctx = httptrace.WithClientTrace(ctx, &cl.trace)
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
	if r.isPost() && r.hasBody() {
		hreq.GetBody = cl.resendBody
	}
	h := hreq.Header
	vals := make(headerValues, 0, 6)
	if r.hasBody() {
		hreq.ContentLength = max(r.size, 0) // 0 with a body: unknown, sent chunked
		vals.set(h, "Content-Type", r.contentType)
		if expect {
			vals.set(h, "Expect", "100-continue")
		}
	}
	if r.resultURL == nil {
		vals.set(h, headerTenantID, c.tenantID)
		vals.set(h, headerAPIKey, c.apiKey)
		vals.set(h, "Accept", "application/json")
	}
	vals.set(h, "User-Agent", c.userAgent)

	resp, err := c.retry.Do(hreq)
	if err != nil {
		if resp != nil { // the retry that was to follow did not start: already drained
			resp.Body.Close()
		}
		return nil, cl.noAnswer(ctx, err)
	}
	return cl.answer(ctx, resp)
}

// headerValues hands out the one-value slices of a request's headers from
// one allocation instead of one per header, as http.Header.Clone does. Each
// slice's capacity is its length, so that appending to one copies it
// instead of overwriting the next.
type headerValues []string

func (v *headerValues) set(h http.Header, key, value string) {
	*v = append(*v, value)
	n := len(*v)
	h[key] = (*v)[n-1 : n : n]
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
	// *bytes.Reader, whose delivery trace reports.
	inMemory bool
	trace    httptrace.ClientTrace
	// Set by the body of the current attempt, read once it ends.
	bodyStarted atomic.Bool  // some byte of a body was read, in any attempt
	onWire      atomic.Bool  // some of the current attempt reached the connection
	bodySent    atomic.Bool  // the whole body of the current attempt was read
	bodyBytes   atomic.Int64 // bytes of the current attempt's body read
	// last is the decision on the attempt that ended last.
	last decision
	// retrying is set between an attempt that will be retried and the next
	// one: the last attempt's outcome is known (for a post, not taken).
	retrying      bool
	notReplayable bool
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
	if cl.req.singleUse && cl.bodyStarted.Load() {
		return nil, ErrNotReplayable
	}
	cl.onWire.Store(false)
	if cl.inMemory {
		cl.bodySent.Store(false)
		return bytes.NewReader(cl.req.data), nil
	}
	rc, err := cl.req.open()
	if err != nil {
		return nil, err
	}
	cl.bodySent.Store(false)
	cl.bodyBytes.Store(0)
	return &trackedBody{rc: rc, call: cl}, nil
}

// errResendRefused is resendBody's refusal.
var errResendRefused = errors.New("the transport's own resend of a post already on the wire was refused")

// resendBody is a post's GetBody, through which net/http may send an
// attempt again on its own: HTTP/1 when nothing of it was written, HTTP/2
// also after some stream errors, even once the whole body went out. Such a
// resend is not an attempt that classify judged, so it is allowed only while
// nothing of the attempt reached the connection; otherwise the attempt ends
// with its error, and its outcome is judged as any other.
func (cl *call) resendBody() (io.ReadCloser, error) {
	if cl.onWire.Load() {
		return nil, errResendRefused
	}
	body, err := cl.openBody()
	if err != nil {
		return nil, err
	}
	if rc, ok := body.(io.ReadCloser); ok {
		return rc, nil
	}
	return io.NopCloser(body), nil
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
	a := attempt{method: cl.req.method, bodySent: cl.bodySent.Load(), err: err, ctxDone: ctx.Err() != nil}
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
	if cl.req.singleUse && cl.bodyStarted.Load() {
		cl.notReplayable = true
		return false, nil
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
	d := cl.last.final()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, cl.replayNote(cl.apiError(ctx, resp, d, readErrorBody(resp.Body), ""))
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
	return nil, cl.replayNote(e)
}

// noAnswer turns a call that ended without a usable answer into a typed
// error.
func (cl *call) noAnswer(ctx context.Context, err error) error {
	r := &cl.req
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = r.display() // a result URL's query, or a redirect's target chosen by the server
	}
	d := classify(cl.attempt(ctx, nil, err), cl.client.policy())
	if cl.retrying { // stopped between two attempts: the last one was not taken
		d = decision{verdict: verdictFailed, reason: "stopped before retrying after " + cl.last.reason}
	}
	return cl.transportError(ctx, err, d)
}

// transportError is the error of a call whose last attempt got no usable
// answer, decided d.
func (cl *call) transportError(ctx context.Context, err error, d decision) error {
	r := &cl.req
	d = d.final()
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
	cl.logFailure(ctx, d, slog.String("error", e.msg))
	if errors.Is(err, ErrNotReplayable) || cl.notReplayable {
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

// replayNote adds to an answer that would have been retried that its body
// could not be sent again.
func (cl *call) replayNote(e *APIError) error {
	if cl.notReplayable {
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
	if errors.As(err, &ue) {
		return ue.Op + " " + ue.URL + ": " + ue.Err.Error()
	}
	return err.Error()
}

// redirectError is a redirect the client refused: it would send the
// credentials to another host, or repeat a post.
type redirectError struct{ status int }

func (e *redirectError) Error() string {
	return fmt.Sprintf("redirect (status %d) refused: it would send the credentials to another host or repeat a post", e.status)
}

// refuseCredentialRedirects wraps a CheckRedirect so that a request carrying
// the API key is never redirected to another scheme or host, and a post is
// never redirected at all. Go's http.Client removes only standard
// credential headers on such hops, not x-dynamo-api-key.
func refuseCredentialRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		if first.Method == http.MethodPost || (first.Header.Get(headerAPIKey) != "" &&
			(req.URL.Scheme != first.URL.Scheme || req.URL.Host != first.URL.Host)) {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return &redirectError{status: status}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// discardHandler is a slog.Handler that drops every record.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
