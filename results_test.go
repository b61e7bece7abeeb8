package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestBatchTaskStatuses(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	resp := postTasks(t, srv, 9)
	for i, id := range resp.TaskIDs {
		if i%3 == 0 {
			srv.CompleteBatchTask(resp.ID, id, dynamotest.ResultFile{ID: fmt.Sprint("r", i), Content: []byte("x")})
		}
	}
	var ids []string
	for st, err := range srv.Client().BatchTaskStatuses(context.Background(), resp.ID, dynamo.WithStatusConcurrency(3)) {
		require.NoError(t, err)
		ids = append(ids, st.TaskID)
		i := len(ids) - 1
		assert.Equal(t, i%3 == 0, st.Completed, "task %d", i)
		if i%3 == 0 {
			assert.Equal(t, []string{fmt.Sprint("r", i)}, st.Results)
		}
	}
	assert.Equal(t, resp.TaskIDs, ids, "statuses come in the batch's order")
}

func TestBatchTaskStatusesBoundsConcurrencyAndStopsEarly(t *testing.T) {
	t.Parallel()
	var inFlight, peak, calls atomic.Int32
	full := make(chan struct{}) // closed once two calls are in flight at once
	var fullOnce sync.Once
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	resp := postTasks(t, srv, 20)
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	forward := httputil.NewSingleHostReverseProxy(target)
	first := make(map[string]bool) // the tasks the loop reads before it stops
	for _, id := range resp.TaskIDs[:5] {
		first[id] = true
	}
	// A proxy in front of the fake counts task status calls in flight. It
	// holds the first calls until two are in flight, so that a fetcher
	// without a bound would pile up more, answers those of the first five
	// tasks, and never answers the others: only stopping the loop ends them.
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Count(r.URL.Path, "/") == 4 {
			calls.Add(1)
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			if n == 2 {
				fullOnce.Do(func() { close(full) })
			}
			hold := full
			if !first[path.Base(r.URL.Path)] {
				hold = nil
			}
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		forward.ServeHTTP(w, r)
	})
	client := newProxiedClient(t, srv, proxy)

	n := 0
	for _, err := range client.BatchTaskStatuses(context.Background(), resp.ID, dynamo.WithStatusConcurrency(2)) {
		require.NoError(t, err)
		if n++; n == 5 {
			break
		}
	}
	assert.LessOrEqual(t, peak.Load(), int32(2))
	assert.LessOrEqual(t, calls.Load(), int32(7), "stopping early cancels the rest")
}

func TestBatchTaskStatusesBatchError(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	n := 0
	for st, err := range srv.Client().BatchTaskStatuses(context.Background(), "0123456789abcdef0123456789abcdef") {
		n++
		assert.ErrorIs(t, err, dynamo.ErrNotFound)
		var taskErr *dynamo.BatchTaskStatusError
		assert.False(t, errors.As(err, &taskErr), "a failure of the batch is not one of a task")
		assert.Nil(t, st)
	}
	assert.Equal(t, 1, n)
}

func TestDownloadResultSendsNoCredentials(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	resp := postTasks(t, srv, 1)
	content := bytes.Repeat([]byte("%PDF-1.7 "), 100_000)
	srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0], dynamotest.ResultFile{ID: "Profile", Content: content})
	client := srv.Client()
	task, err := client.GetBatchTaskStatus(context.Background(), resp.ID, resp.TaskIDs[0])
	require.NoError(t, err)
	require.Len(t, task.ResultList, 1)

	var buf bytes.Buffer
	n, err := client.DownloadResult(context.Background(), task.ResultList[0], &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(len(content)), n)
	assert.Equal(t, content, buf.Bytes())

	storage := srv.StorageRequests()
	require.Len(t, storage, 1)
	for name := range storage[0].Header {
		assert.NotContains(t, strings.ToLower(name), "x-dynamo", "no API header goes to the storage host")
	}
	assert.False(t, storage[0].HasAPIKey)
}

func TestDownloadResultErrors(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()
	_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "x", URL: srv.StorageURL + "/files/a/b/c?X-Amz-Signature=forged0123456789"}, &bytes.Buffer{})
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode, "a storage host refuses a wrong signature")
	assert.NotContains(t, err.Error(), "forged0123456789", "the signature of a temporary URL is not repeated")

	for _, u := range []string{"", "/relative", "ftp://host/x", "http://storage.example.com/x", "https://user:pw@storage.example.com/x"} {
		_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "x", URL: u}, &bytes.Buffer{})
		assert.Error(t, err, u)
	}
	assert.Len(t, srv.StorageRequests(), 1)
}

// TestDownloadResultCutShortIsAnError: a storage host that declares a length
// and closes the connection before sending it all is a failure of the call,
// with the bytes written so far, never a short file with a nil error.
func TestDownloadResultCutShortIsAnError(t *testing.T) {
	t.Parallel()
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("%PDF-1.7 the first bytes"))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(storage.Close)
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)

	var out bytes.Buffer
	n, err := srv.Client().DownloadResult(context.Background(),
		dynamo.Result{ID: "Invoice", URL: storage.URL + "/files/invoice.pdf?X-Amz-Signature=secret0123456789"}, &out)
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, err.Error(), "Invoice")
	assert.NotContains(t, err.Error(), "secret0123456789")
	assert.Equal(t, int64(len("%PDF-1.7 the first bytes")), n)
	assert.Equal(t, "%PDF-1.7 the first bytes", out.String())
}

func TestDownloadResultAfterTheURLExpired(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano())
	srv := dynamotest.NewServer(dynamotest.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	t.Cleanup(srv.Close)
	client := srv.Client()
	resp := postTasks(t, srv, 1)
	srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0], dynamotest.ResultFile{ID: "Quote", Content: []byte("PDF")})
	st, err := client.GetBatchTaskStatus(context.Background(), resp.ID, resp.TaskIDs[0])
	require.NoError(t, err)
	require.Len(t, st.ResultList, 1)

	now.Add(int64(time.Hour + time.Minute)) // result URLs are valid about an hour
	_, err = client.DownloadResult(context.Background(), st.ResultList[0], io.Discard)
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)

	st, err = client.GetBatchTaskStatus(context.Background(), resp.ID, resp.TaskIDs[0])
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = client.DownloadResult(context.Background(), st.ResultList[0], &buf)
	require.NoError(t, err, "a status read again hands out a fresh URL")
	assert.Equal(t, "PDF", buf.String())
}

// newProxiedClient returns a client for srv's credentials whose requests go
// through handler.
func newProxiedClient(t *testing.T, srv *dynamotest.Server, handler http.Handler) *dynamo.Client {
	t.Helper()
	proxy := httptest.NewServer(handler)
	t.Cleanup(proxy.Close)
	client, err := dynamo.NewClient(srv.TenantID, srv.APIKey, dynamo.WithBaseURL(proxy.URL))
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	return client
}

func TestResultURLQueryNeverShown(t *testing.T) {
	t.Parallel()
	t.Run("storage host refuses the connection", func(t *testing.T) {
		client, _, logs := setup(t, dynamo.WithMaxRetries(1))
		r := dynamo.Result{ID: "Quote", URL: "http://" + closedAddr(t) + "/files/quote.pdf?" + signedQuery}
		_, err := client.DownloadResult(context.Background(), r, io.Discard)
		require.Error(t, err)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			assertNoSignature(t, "error printed with "+verb, fmt.Sprintf(verb, err))
		}
		for i, e := range errorChain(err) {
			assertNoSignature(t, fmt.Sprintf("wrapped error %d (%T)", i, e), e.Error())
		}
		assert.Contains(t, err.Error(), "/files/quote.pdf", "the host and path are shown")
		assertNoSignature(t, "log", logs.Text())
		assert.NotEmpty(t, logs.Records(logFailed), "the failure is logged, without the query")
	})
	t.Run("storage host answers 403", func(t *testing.T) {
		storage := http.NewServeMux()
		storage.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestURL>`+r.URL.String()+`</RequestURL></Error>`)
		})
		srv := newHTTPServer(t, storage)
		client, _, logs := setup(t)
		_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "Quote", URL: srv.URL + "/files/quote.pdf?" + signedQuery}, io.Discard)
		var apiErr *dynamo.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
		assert.Equal(t, strings.TrimPrefix(srv.URL, "http://")+"/files/quote.pdf", apiErr.Path, "host and path, as documented")
		assert.ErrorIs(t, err, dynamo.ErrUnauthorized)
		assertNoSignature(t, "error", fmt.Sprintf("%+v", err))
		assertNoSignature(t, "APIError.Body, where the storage host echoed the URL", string(apiErr.Body))
		assertNoSignature(t, "APIError.Message", apiErr.Message)
		assertNoSignature(t, "log", logs.Text())
	})
	t.Run("a Result printed or logged", func(t *testing.T) {
		r := dynamo.Result{ID: "Quote", URL: "https://bucket.example.com/files/quote.pdf?" + signedQuery}
		st := dynamo.TaskStatus{TaskID: "t-1", ResultList: []dynamo.Result{r}}
		for _, v := range []any{r, &r, st, &st, []dynamo.Result{r}} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				text := fmt.Sprintf(verb, v)
				assertNoSignature(t, fmt.Sprintf("%T printed with %s", v, verb), text)
				assert.Contains(t, text, "bucket.example.com/files/quote.pdf")
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("result", "r", r)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("result", "r", r)
		assertNoSignature(t, "a Result logged", buf.String())
		data, err := json.Marshal(r)
		require.NoError(t, err)
		assert.Contains(t, string(data), "X-Amz-Signature", "JSON keeps the URL whole: it is how the URL is handed on")
	})
}
