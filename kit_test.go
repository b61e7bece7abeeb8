package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// Distinctive credentials: a test that finds either of them (or a long enough
// piece of one) in a log line or an error string has found a leak.
const (
	testTenantID  = "00D5g000004QpXyEAK"
	testAPIKey    = "KEY-s3cr3t-6f1d0c9a4e7b2853aa17c4d6e9f03b58"
	testSessionID = "SESSION-s3cr3t-w8Tq!AQ4AQKz7Xc3vYw0TpLr9mN2bH5sGd8eJ"
	testServerURL = "https://example.my.salesforce.com"
	// testSourceSession begins every session that a testSource gives.
	testSourceSession = "SOURCE-s3cr3t-Jq5Rv8Wn2Yx7Lc4Pz"
	// testSignature is the signature in signedQuery: whoever holds it can
	// download the file.
	testSignature = "b7e19a04c2d85f63e0a1b9c4d7f28e56"
)

// baseURLPath is where setup mounts the API: the client must keep a base URL's
// path in front of every request path.
const baseURLPath = "/api-prefix"

// fakeClock takes the place of a client's clock, so that no test waits for a
// retry's backoff or a poll's interval: every wait returns at once (with the
// context's error when it is done), moves the clock on, and is recorded.
// A dynamotest server given its Now as WithClock sees the same time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

// Now is the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Waits returns the waits asked for so far.
func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// option gives a client this clock.
func (c *fakeClock) option() dynamo.Option { return dynamo.WithClock(c.sleep, c.Now) }

// setup starts a test server whose mux is mounted under baseURLPath and
// returns a client for it that logs at debug level into the returned capture.
// The client retries quickly; opts come after the defaults and override them.
// A request outside baseURLPath fails the test. When the test ends, the
// server is closed and the captured log is checked for the secrets.
func setup(t *testing.T, opts ...dynamo.Option) (*dynamo.Client, *http.ServeMux, *logCapture) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle(baseURLPath+"/", http.StripPrefix(baseURLPath, mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside the base URL", http.StatusNotFound)
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client, logs := newTestClient(t, srv.URL+baseURLPath, opts...)
	return client, mux, logs
}

// newFake starts a dynamotest server that expects the test credentials, and a
// client for it set up like setup's. The client is built with NewClient, not
// Server.Client, so that it can take options such as WithHTTPClient.
func newFake(t *testing.T, opts ...dynamo.Option) (*dynamotest.Server, *dynamo.Client, *logCapture) {
	t.Helper()
	srv := dynamotest.NewServer(dynamotest.WithCredentials(testTenantID, testAPIKey))
	t.Cleanup(srv.Close)
	client, logs := newTestClient(t, srv.URL, opts...)
	return srv, client, logs
}

// newTestClient returns a client with the test credentials for baseURL that
// logs at debug level into a capture, waits on a fake clock (unless opts give
// it another), and fails the test if a secret reached its log.
func newTestClient(t *testing.T, baseURL string, opts ...dynamo.Option) (*dynamo.Client, *logCapture) {
	t.Helper()
	logs := newLogCapture()
	all := append([]dynamo.Option{
		dynamo.WithBaseURL(baseURL),
		dynamo.WithLogger(logs.Logger()),
		newFakeClock().option(),
	}, opts...)
	client, err := dynamo.NewClient(testTenantID, testAPIKey, all...)
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	t.Cleanup(func() { assertNoSecrets(t, "log", logs.Text()) })
	return client, logs
}

// testMethod fails the test unless r was sent with method want.
func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("request method = %s, want %s", r.Method, want)
	}
}

// testHeader fails the test unless r's header name is want.
func testHeader(t *testing.T, r *http.Request, name, want string) {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Errorf("header %s = %q, want %q", name, got, want)
	}
}

// recordID is the Salesforce record ID of record i of a test job.
func recordID(i int) string { return fmt.Sprintf("a01%07d", i) }

// records returns n tasks for the records 0..n-1, each with a param.
func records(n int) []dynamo.Task {
	tasks := make([]dynamo.Task, n)
	for i := range tasks {
		tasks[i] = dynamo.Task{Params: dynamo.Params{"id": recordID(i), "row": i}}
	}
	return tasks
}

// salesforceBatch is a valid batch by reference of n records that carries
// the test session.
func salesforceBatch(n int) *dynamo.Batch {
	return &dynamo.Batch{Template: "3242374783", Integration: dynamo.Salesforce(testSessionID, testServerURL), Tasks: records(n)}
}

// mustPost posts a valid batch and fails the test unless it was accepted.
func mustPost(t *testing.T, client *dynamo.Client) *dynamo.BatchResponse {
	t.Helper()
	resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
	require.NoError(t, err)
	return resp
}

// postTasks posts a batch of n records to srv and returns the answer.
func postTasks(t *testing.T, srv *dynamotest.Server, n int) *dynamo.BatchResponse {
	t.Helper()
	resp, err := srv.Client().PostBatch(context.Background(), &dynamo.Batch{Template: "t", Tasks: records(n)})
	require.NoError(t, err)
	return resp
}

// requestsTo counts the requests the fake received with method, refused or
// not.
func requestsTo(srv *dynamotest.Server, method string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

// acceptedCounts counts, per record ID, how many tasks the fake holds for it.
func acceptedCounts(srv *dynamotest.Server) map[string]int {
	counts := make(map[string]int)
	for _, b := range srv.Batches() {
		for _, task := range b.Tasks {
			id, _ := task.Params["id"].(string)
			counts[id]++
		}
	}
	return counts
}

// requireAcceptedOnce checks that the fake holds exactly one task for each
// of the records 0..n-1 and none for any other.
func requireAcceptedOnce(t *testing.T, srv *dynamotest.Server, n int) {
	t.Helper()
	counts := acceptedCounts(srv)
	require.Len(t, counts, n, "distinct records accepted")
	for i := range n {
		require.Equal(t, 1, counts[recordID(i)], "times record %d was accepted", i)
	}
}

// embeddedSalesforceBatch is salesforceBatch for PostBatchWithTemplate.
func embeddedSalesforceBatch(n int) *dynamo.Batch {
	b := salesforceBatch(n)
	b.Template = ""
	return b
}

// secretWindow is the length of the pieces of a secret searched for: a
// piece this long leaks too much of the secret to be shown.
const secretWindow = 12

// leakedSecret returns the name of the secret that text contains whole or in
// part, or "".
func leakedSecret(text string) string {
	for name, secret := range map[string]string{"API key": testAPIKey, "session ID": testSessionID, "result URL's signature": testSignature, "source's session": testSourceSession} {
		for i := 0; i+secretWindow <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+secretWindow]) {
				return name
			}
		}
	}
	return ""
}

// assertNoSecrets fails the test when text holds a secret. The secret itself
// is not printed.
func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	if name := leakedSecret(text); name != "" {
		t.Errorf("%s contains the %s", what, name)
	}
}

// formatVerbs are the fmt verbs a value must be safe to print with.
var formatVerbs = []string{"%v", "%+v", "%#v", "%s", "%q"}

// assertPrintsNoSecrets fails the test when v, printed with any verb, logged
// through slog, or (for an error) its message, the messages of the errors it
// wraps, or an *APIError's Message and Body, holds a secret.
func assertPrintsNoSecrets(t *testing.T, what string, v any) {
	t.Helper()
	for _, verb := range formatVerbs {
		assertNoSecrets(t, fmt.Sprintf("%s printed with %s", what, verb), fmt.Sprintf(verb, v))
	}
	var buf bytes.Buffer
	text := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	jsonLog := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	text.Debug("value", "v", v)
	jsonLog.Debug("value", "v", v)
	assertNoSecrets(t, what+" logged through slog", buf.String())
	err, ok := v.(error)
	if !ok || err == nil {
		return
	}
	for i, e := range errorChain(err) {
		assertNoSecrets(t, fmt.Sprintf("%s: message of wrapped error %d (%T)", what, i, e), e.Error())
	}
	var apiErr *dynamo.APIError
	if errors.As(err, &apiErr) {
		assertNoSecrets(t, what+": APIError.Message", apiErr.Message)
		assertNoSecrets(t, what+": APIError.Body", string(apiErr.Body))
	}
}

// errorChain lists err and every error it wraps, depth first.
func errorChain(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

// logRecord is one captured log record, its attributes resolved to text.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// logCapture collects what a logger writes: each record, and its text as
// slog's text and JSON handlers render it, at every level.
type logCapture struct {
	mu      sync.Mutex
	text    bytes.Buffer
	records []logRecord
	waiters map[string][]chan struct{}
}

func newLogCapture() *logCapture {
	return &logCapture{waiters: make(map[string][]chan struct{})}
}

// Logger returns a logger that writes into c at debug level and above.
func (c *logCapture) Logger() *slog.Logger {
	return slog.New(&captureHandler{c: c, wrap: func(h slog.Handler) slog.Handler { return h }})
}

// Text returns everything logged so far, rendered.
func (c *logCapture) Text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String()
}

// Records returns the records whose message is msg.
func (c *logCapture) Records(msg string) []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRecord
	for _, r := range c.records {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// Next returns a channel closed when a record with message msg is logged
// after this call.
func (c *logCapture) Next(msg string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.waiters[msg] = append(c.waiters[msg], ch)
	return ch
}

type captureHandler struct {
	c    *logCapture
	wrap func(slog.Handler) slog.Handler // the WithAttrs and WithGroup calls so far
	pre  []slog.Attr
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(ctx context.Context, r slog.Record) error {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	for _, inner := range []slog.Handler{slog.NewTextHandler(&c.text, opts), slog.NewJSONHandler(&c.text, opts)} {
		if err := h.wrap(inner).Handle(ctx, r); err != nil {
			return err
		}
	}
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: make(map[string]string)}
	add := func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve().String()
		return true
	}
	for _, a := range h.pre {
		add(a)
	}
	r.Attrs(add)
	c.records = append(c.records, rec)
	for _, ch := range c.waiters[r.Message] {
		close(ch)
	}
	delete(c.waiters, r.Message)
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	wrap := h.wrap
	return &captureHandler{c: h.c, pre: append(append([]slog.Attr(nil), h.pre...), attrs...),
		wrap: func(in slog.Handler) slog.Handler { return wrap(in).WithAttrs(attrs) }}
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	wrap := h.wrap
	return &captureHandler{c: h.c, pre: h.pre,
		wrap: func(in slog.Handler) slog.Handler { return wrap(in).WithGroup(name) }}
}

// recordingTransport keeps a copy of every request body the client sends, as
// the transport reads it onto the wire, one entry per attempt.
type recordingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []*recordedRequest
}

type recordedRequest struct {
	Method, Path string
	Header       http.Header
	mu           sync.Mutex
	body         bytes.Buffer
}

// Body returns the bytes of the request body sent so far.
func (r *recordedRequest) Body() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.body.Bytes())
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := &recordedRequest{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone()}
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, rec)
	rt.mu.Unlock()
	if req.Body != nil && req.Body != http.NoBody {
		out := req.Clone(req.Context())
		out.Body = &teeBody{rc: req.Body, rec: rec}
		req = out
	}
	return rt.base.RoundTrip(req)
}

// Requests returns the requests sent so far.
func (rt *recordingTransport) Requests() []*recordedRequest {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]*recordedRequest(nil), rt.reqs...)
}

type teeBody struct {
	rc  io.ReadCloser
	rec *recordedRequest
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.rec.mu.Lock()
	b.rec.body.Write(p[:n])
	b.rec.mu.Unlock()
	return n, err
}

func (b *teeBody) Close() error { return b.rc.Close() }

// newTransport returns a transport of its own, closed when the test ends, so
// that no test shares idle connections with another.
func newTransport(t *testing.T) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// closedAddr returns the address of a listener that was closed: connecting to
// it is refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// within fails the test unless ch is closed within d; it returns whether it
// was.
func within(t *testing.T, ch <-chan struct{}, d time.Duration, what string) bool {
	t.Helper()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		t.Errorf("timed out after %v waiting for %s", d, what)
		return false
	}
}

// callResult is what a call run in a goroutine returned, and when.
type callResult struct {
	err  error
	done time.Time
}

// newHTTPServer starts a plain test server for handler, closed when the test
// ends.
func newHTTPServer(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// refuseOnceRead answers status once it has read some of the body: the
// server saw the start of the upload, so a single-use body is spent.
func refuseOnceRead(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.CopyN(io.Discard, r.Body, 1)
		http.Error(w, `{"message":"busy"}`, status)
	}
}

// forks keeps the tests that lock journals in this process apart from the
// start of child processes. A child forked while this process holds a
// journal's lock holds it too, for the instant until it execs, and a test
// that locks the same journal again in that instant would find it in use.
// Children are started under the read lock.
var forks sync.RWMutex

// locksJournals marks a test that locks journals in this process.
func locksJournals(t *testing.T) {
	forks.Lock()
	t.Cleanup(forks.Unlock)
}

// signedQuery is the query of a signed result URL: a credential to the file.
const signedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFAKE%2F20260131&X-Amz-Expires=3600&X-Amz-Signature=" + testSignature

// assertNoSignature fails the test when text holds any piece of a signed
// query.
func assertNoSignature(t *testing.T, what, text string) {
	t.Helper()
	for _, piece := range []string{"X-Amz-Signature", testSignature[:12], "AKIAFAKE", "X-Amz-Credential"} {
		if strings.Contains(text, piece) {
			t.Errorf("%s shows the result URL's signed query (%q)", what, piece)
		}
	}
}
