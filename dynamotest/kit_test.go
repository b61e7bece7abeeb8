package dynamotest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// The test kit: one harness that talks to a fake server through plain net/http, and
// the helpers every test file shares.

var (
	batchIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	taskIDRE  = regexp.MustCompile(`^t-[0-9a-f]{32}$`)
)

// harness talks to a fake server through plain net/http.
type harness struct {
	t  *testing.T
	s  *dynamotest.Server
	hc *http.Client
}

func newHarness(t *testing.T, opts ...dynamotest.ServerOption) *harness {
	t.Helper()
	s := dynamotest.NewServer(opts...)
	// A request that says "Expect: 100-continue" sends its body only once the
	// server's handler reads it: see readingBody.
	tr := &http.Transport{ExpectContinueTimeout: time.Minute}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		s.Close()
	})
	return &harness{t: t, s: s, hc: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// newRequest builds a request to url that carries the server's credentials.
func (h *harness) newRequest(ctx context.Context, method, url string, body io.Reader, contentType string) *http.Request {
	h.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	require.NoError(h.t, err)
	req.Header.Set("x-dynamo-tenant-id", h.s.TenantID)
	req.Header.Set("x-dynamo-api-key", h.s.APIKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.hc.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp, body
}

// send sends a request with credentials to path on the API host.
func (h *harness) send(method, path, contentType string, body io.Reader) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(h.newRequest(context.Background(), method, h.s.URL+path, body, contentType))
}

func (h *harness) postJSON(body string) (int, []byte) {
	h.t.Helper()
	resp, b := h.send(http.MethodPost, "/v1/batch", "application/json", strings.NewReader(body))
	return resp.StatusCode, b
}

func (h *harness) postTaskJSON(body string) (int, []byte) {
	h.t.Helper()
	resp, b := h.send(http.MethodPost, "/v1/task", "application/json", strings.NewReader(body))
	return resp.StatusCode, b
}

func (h *harness) postMultipart(contentType string, body io.Reader) (int, []byte) {
	h.t.Helper()
	resp, b := h.send(http.MethodPost, "/v1/batch", contentType, body)
	return resp.StatusCode, b
}

// postForm posts parts as a multipart body to path.
func (h *harness) postForm(path string, parts ...mpart) (int, []byte) {
	h.t.Helper()
	ct, body := multipartBody(h.t, parts...)
	resp, b := h.send(http.MethodPost, path, ct, bytes.NewReader(body))
	return resp.StatusCode, b
}

func (h *harness) get(path string) (int, map[string]any) {
	h.t.Helper()
	resp, b := h.send(http.MethodGet, path, "", nil)
	var m map[string]any
	require.NoError(h.t, json.Unmarshal(b, &m), "body %s", b)
	return resp.StatusCode, m
}

// download fetches url as a storage client does: without credentials.
func (h *harness) download(url string) (int, []byte) {
	h.t.Helper()
	resp, body := h.do(mustNewRequest(h.t, http.MethodGet, url))
	return resp.StatusCode, body
}

func mustNewRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}

type accepted struct {
	ID           string   `json:"id"`
	Tasks        []string `json:"tasks"`
	Message      string   `json:"message"`
	LicenseUsage int      `json:"licenseUsage"`
}

// mustPost posts a JSON batch of n tasks and returns the 202 answer.
func (h *harness) mustPost(n int) accepted {
	h.t.Helper()
	status, body := h.postJSON(jsonBatch(n))
	require.Equal(h.t, http.StatusAccepted, status, "body %s", body)
	var a accepted
	require.NoError(h.t, json.Unmarshal(body, &a))
	return a
}

type usageCount struct {
	Term    int `json:"term"`
	TermMax int `json:"termMax"`
}

type acceptedTask struct {
	TaskID  string `json:"taskID"`
	Message string `json:"message"`
	Usage   struct {
		API     usageCount `json:"api"`
		Signing usageCount `json:"signing"`
	} `json:"usage"`
}

// mustPostTask posts a JSON task and returns the 202 answer.
func (h *harness) mustPostTask(body string) acceptedTask {
	h.t.Helper()
	status, raw := h.postTaskJSON(body)
	require.Equal(h.t, http.StatusAccepted, status, "body %s", raw)
	var a acceptedTask
	require.NoError(h.t, json.Unmarshal(raw, &a))
	return a
}

func jsonBatch(n int) string {
	tasks := make([]string, n)
	for i := range tasks {
		tasks[i] = fmt.Sprintf(`{"params":{"id":"rec-%d"}}`, i)
	}
	return `{"template":"3242374783","tasks":[` + strings.Join(tasks, ",") + `]}`
}

// A Task API post with Salesforce, and one standalone.
const (
	salesforceTask = `{"template":"069000000000001","params":{"id":"a0B000001","locale":"fi-FI"},
		"integration":{"type":"Salesforce","sessionID":"sess-secret","serverURL":"https://x.my.salesforce.com"}}`
	standaloneTask = `{"template":"cache-7","params":{"greeting":"hello"}}`
)

// resultURLs returns the URLs of a status's resultList.
func resultURLs(t *testing.T, status map[string]any) []string {
	t.Helper()
	list, ok := status["resultList"].([]any)
	require.True(t, ok, "resultList in %v", status)
	urls := make([]string, len(list))
	for i, e := range list {
		urls[i] = e.(map[string]any)["url"].(string)
	}
	return urls
}

func message(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(body, &m), "body %s", body)
	return m.Message
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2022, 2, 10, 11, 3, 30, 100_000_000, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stamp is how the fake writes t, as Java's Instant.toString does: the fraction in
// groups of three digits, as few as t needs.
func stamp(t time.Time) string {
	s := t.UTC().Format(time.RFC3339Nano) // trailing zeros of the fraction cut
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	frac := s[dot+1 : len(s)-1]
	for len(frac)%3 != 0 {
		frac += "0"
	}
	return s[:dot+1] + frac + "Z"
}

// onAccept returns an option that reports every accepted post on the channel.
func onAccept() (dynamotest.ServerOption, <-chan dynamotest.Accepted) {
	ch := make(chan dynamotest.Accepted, 1000)
	return dynamotest.WithOnAccept(func(a dynamotest.Accepted) { ch <- a }), ch
}

// receive waits for the next value on ch; the deadline only guards against a hung test.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		panic("unreachable")
	}
}

// readingBody is a request body that tells when it is first read. Sent with
// "Expect: 100-continue", it is read only once the server's handler reads the body,
// so the signal says the handler is running.
type readingBody struct {
	r       io.Reader
	once    sync.Once
	reading chan struct{}
}

func newReadingBody(body string) *readingBody {
	return &readingBody{r: strings.NewReader(body), reading: make(chan struct{})}
}

func (b *readingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	return b.r.Read(p)
}

// expectContinue makes req send body only once the server's handler reads it.
func expectContinue(req *http.Request, body *readingBody, n int) {
	req.Body = io.NopCloser(body)
	req.ContentLength = int64(n)
	req.Header.Set("Expect", "100-continue")
}

// mpart is one part of a multipart body built by the tests.
type mpart struct {
	name, fileName, contentType string
	body                        []byte
}

func multipartBody(t *testing.T, parts ...mpart) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		hdr := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.fileName != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.fileName)
		}
		hdr.Set("Content-Disposition", disp)
		if p.contentType != "" {
			hdr.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(hdr)
		require.NoError(t, err)
		_, err = w.Write(p.body)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func templatePart(content []byte) mpart {
	return mpart{name: "template", fileName: "example.dap", contentType: "application/octet-stream", body: content}
}

func jsonPart(name, body string) mpart {
	return mpart{name: name, contentType: "application/json", body: []byte(body)}
}
