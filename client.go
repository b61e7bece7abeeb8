package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://dynamo-api.documill.com"

// The credential headers sent with every API request.
const (
	headerTenantID = "x-dynamo-tenant-id"
	headerAPIKey   = "x-dynamo-api-key"
)

// Bounds on what is read of a response body.
const maxResponseBody = 16 << 20

// Client talks to the Dynamo batch API. It is safe for concurrent use; create
// one per tenant and reuse it. Formatting a Client with fmt never shows its
// API key.
type Client struct {
	tenantID     string
	apiKey       string
	baseURL      *url.URL
	httpClient   *http.Client
	logger       *slog.Logger
	userAgent    string
	maxRetries   int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
}

// NewClient returns a client for the tenant tenantID (with Salesforce, the
// organization ID) that authenticates with apiKey. It fails when either is
// empty or holds a control character, or when an option is invalid.
func NewClient(tenantID, apiKey string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
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
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
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
	return &Client{
		tenantID:     tenantID,
		apiKey:       apiKey,
		baseURL:      base,
		httpClient:   hc,
		logger:       logger,
		userAgent:    ua,
		maxRetries:   cfg.maxRetries,
		retryWaitMin: cfg.retryWaitMin,
		retryWaitMax: cfg.retryWaitMax,
		insecureHTTP: cfg.insecureHTTP,
	}, nil
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
	if u := os.Getenv(EnvBaseURL); u != "" {
		opts = append([]Option{WithBaseURL(u)}, opts...)
	}
	tenant, key := os.Getenv(EnvTenantID), os.Getenv(EnvAPIKey)
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
func (c *Client) BaseURL() string { return c.baseURL.String() }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.httpClient.CloseIdleConnections() }

// request is one logical call: one or more attempts of the same HTTP request.
type request struct {
	method string
	path   string // escaped path below the base URL
	// url, when set, is an absolute URL off the API host (a result file):
	// the request then carries no credentials.
	url         string
	contentType string
	body        func() (io.ReadCloser, error) // a fresh body per attempt; nil for none
	size        int64                         // exact body size, or -1 when unknown
	singleUse   bool                          // the body cannot be produced twice once read
	wantStatus  int                           // the success status
	secrets     redactor                      // request secrets besides the API key
}

func (r *request) isPost() bool { return r.method == http.MethodPost }

// do sends r through the retry policy and returns the response when its status
// is r.wantStatus, its body open for the caller to read and close. Any other
// outcome is a typed error.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	target := r.url
	if target == "" {
		target = c.baseURL.String() + r.path
	}
	cl := &call{client: c, req: r}
	var body any // nil, or a ReaderFunc: never a plain reader, which retryablehttp would buffer
	if r.body != nil {
		body = retryablehttp.ReaderFunc(cl.openBody)
	}
	hreq, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("dynamo: %s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		hreq.ContentLength = r.size
		if r.size < 0 {
			hreq.ContentLength = 0 // unknown: sent chunked
		}
		hreq.Header.Set("Content-Type", r.contentType)
	}
	if r.url == "" {
		hreq.Header.Set(headerTenantID, c.tenantID)
		hreq.Header.Set(headerAPIKey, c.apiKey)
		hreq.Header.Set("Accept", "application/json")
	}
	hreq.Header.Set("User-Agent", c.userAgent)

	resp, err := cl.retryClient().Do(hreq)
	if err != nil {
		return nil, cl.transportError(ctx, err)
	}
	if resp.StatusCode != r.wantStatus {
		defer resp.Body.Close()
		return nil, cl.apiError(resp)
	}
	return resp, nil
}

// doJSON is do followed by decoding the JSON answer into out.
func (c *Client) doJSON(ctx context.Context, r *request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	switch {
	case err != nil:
		err = fmt.Errorf("reading the answer: %w", err)
	case len(data) > maxResponseBody:
		err = fmt.Errorf("the answer exceeds %d bytes", maxResponseBody)
	default:
		if err = json.Unmarshal(data, out); err != nil {
			err = fmt.Errorf("decoding the answer: %w", err)
		}
	}
	if err == nil {
		return nil
	}
	if r.isPost() {
		return fmt.Errorf("dynamo: %s %s: %w: %w; the batch was accepted (%d) but its ID is unknown: %w",
			r.method, r.path, ErrUnexpectedResponse, err, resp.StatusCode, ErrOutcomeUnknown)
	}
	return fmt.Errorf("dynamo: %s %s: %w: %w", r.method, r.path, ErrUnexpectedResponse, err)
}

// call is the state of one logical request across its attempts.
type call struct {
	client   *Client
	req      *request
	attempts int
	// Set by the body of the current attempt, read after it ends.
	bodyStarted atomic.Bool  // some byte of a body was read, in any attempt
	bodySent    atomic.Bool  // the whole body of the current attempt was read
	bodyBytes   atomic.Int64 // bytes of the current attempt's body read
	// Set by the retry policy.
	retryReason   string
	notReplayable bool
	// retrying is set between an attempt that will be retried and the next
	// one: the last attempt's outcome is known (for a post, not taken).
	retrying bool
}

// openBody produces the body of one attempt. A single-use body that was
// already read cannot be produced again.
func (cl *call) openBody() (io.Reader, error) {
	if cl.req.singleUse && cl.bodyStarted.Load() {
		return nil, ErrNotReplayable
	}
	rc, err := cl.req.body()
	if err != nil {
		return nil, err
	}
	cl.bodySent.Store(false)
	cl.bodyBytes.Store(0)
	return &trackedBody{rc: rc, call: cl}, nil
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

func (cl *call) retryClient() *retryablehttp.Client {
	c := cl.client
	return &retryablehttp.Client{
		HTTPClient:   c.httpClient,
		Logger:       nil, // the SDK logs through its own slog logger, without secrets
		RetryWaitMin: c.retryWaitMin,
		RetryWaitMax: c.retryWaitMax,
		RetryMax:     c.maxRetries,
		CheckRetry:   cl.checkRetry,
		Backoff:      cl.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			cl.attempts = attempt + 1
			cl.retrying = false
			c.logger.LogAttrs(req.Context(), slog.LevelDebug, "dynamo: request",
				slog.String("method", cl.req.method), slog.String("path", cl.logPath()), slog.Int("attempt", cl.attempts))
		},
	}
}

// logPath is the path to log: result URLs carry signatures in their query,
// which is left out.
func (cl *call) logPath() string {
	if cl.req.url == "" {
		return cl.req.path
	}
	u, err := url.Parse(cl.req.url)
	if err != nil {
		return "(result URL)"
	}
	return u.Host + u.Path
}

// transportError turns a failure without an answer into a typed error.
func (cl *call) transportError(ctx context.Context, err error) error {
	r := cl.req
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = cl.redact(ue.URL) // a redirect's target, chosen by the server
	}
	var where string
	if cl.attempts > 1 {
		where = fmt.Sprintf(" (after %d attempts)", cl.attempts)
	}
	msg := cl.redact(unwrapURLError(err))
	cl.client.logger.LogAttrs(ctx, slog.LevelWarn, "dynamo: request failed",
		slog.String("method", r.method), slog.String("path", cl.logPath()), slog.Int("attempts", cl.attempts), slog.String("error", msg))
	var srcErr *formdata.SourceError
	switch {
	case errors.Is(err, ErrNotReplayable) || cl.notReplayable:
		return fmt.Errorf("dynamo: %s %s%s: %w: a template from TemplateFromReader is read once; use TemplateFromFile or TemplateFromOpener to allow retries", r.method, r.path, where, ErrNotReplayable)
	case errors.As(err, &srcErr):
		return fmt.Errorf("dynamo: %s %s: %w", r.method, r.path, srcErr)
	case r.isPost() && !cl.retrying && cl.bodySent.Load() && !connNotMade(err):
		return &outcomeError{method: r.method, path: r.path, where: where, msg: msg, err: ctxOr(ctx, err)}
	}
	return &transportErr{method: r.method, path: r.path, where: where, msg: msg, err: ctxOr(ctx, err)}
}

// ctxOr returns the context's error when the context is done (so that
// errors.Is(err, context.Canceled) holds), else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func unwrapURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + ue.URL + ": " + ue.Err.Error()
	}
	return err.Error()
}

func (cl *call) redact(s string) string {
	return cl.secrets().apply(s)
}

func (cl *call) secrets() redactor {
	return append(redactor{cl.client.apiKey}, cl.req.secrets...)
}

// transportErr is a failure without an answer from the server.
type transportErr struct {
	method, path, where, msg string
	err                      error
}

func (e *transportErr) Error() string {
	return fmt.Sprintf("dynamo: %s %s%s: %s", e.method, e.path, e.where, e.msg)
}

func (e *transportErr) Unwrap() error { return e.err }

// outcomeError is a post that may have reached the server whole but whose
// answer was lost.
type outcomeError transportErr

func (e *outcomeError) Error() string {
	return fmt.Sprintf("dynamo: %s %s%s: %s; the request was sent but no answer came back: the batch may have been created, check before posting again", e.method, e.path, e.where, e.msg)
}

func (e *outcomeError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.err} }

// apiError reads a bounded part of an unsuccessful answer.
func (cl *call) apiError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	text := string(body)
	if len(body) == maxErrorBody { // perhaps cut, and inside an echoed secret
		text = cl.secrets().trimCut(text)
	}
	body = []byte(cl.redact(text))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     cl.req.method,
		Path:       cl.req.path,
		Message:    errorMessage(body, cl.redact),
		Body:       body,
		Attempts:   cl.attempts,
	}
	if cl.req.url != "" {
		e.Path = cl.logPath()
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), timeNow()); ok {
		e.RetryAfter = d
	}
	e.OutcomeUnknown = cl.req.isPost() && outcomeUnknownStatus(resp.StatusCode)
	cl.client.logger.LogAttrs(resp.Request.Context(), slog.LevelWarn, "dynamo: request failed",
		slog.String("method", e.Method), slog.String("path", e.Path), slog.Int("attempts", e.Attempts), slog.Int("status", e.StatusCode))
	if cl.notReplayable {
		return fmt.Errorf("%w; not retried: %w (a template from TemplateFromReader is read once)", e, ErrNotReplayable)
	}
	return e
}

// errorMessage is the server's "message" when the body is JSON with one,
// otherwise the start of the body, on one line without control characters.
// redact is applied to the decoded message, in which JSON escapes may have
// spelled out a secret that the body did not show.
func errorMessage(body []byte, redact func(string) string) string {
	s := string(body)
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		s = redact(m.Message)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// errRedirect is returned for a redirect that would carry the credentials
// elsewhere, or replay a post.
var errRedirect = errors.New("redirect refused: it would send the credentials to another host or repeat a post")

// refuseCredentialRedirects wraps a CheckRedirect so that a request carrying
// the API key is never redirected to another scheme or host, and a post is
// never redirected at all. Go's http.Client removes only standard
// credential headers on such hops, not x-dynamo-api-key.
func refuseCredentialRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		if first.Header.Get(headerAPIKey) != "" {
			if first.Method != http.MethodGet || req.URL.Scheme != first.URL.Scheme || req.URL.Host != first.URL.Host {
				return errRedirect
			}
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
