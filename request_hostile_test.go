package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// failed checks that err is an error that leaks no secret, and returns it.
func failed(t *testing.T, err error) error {
	t.Helper()
	require.Error(t, err)
	assertPrintsNoSecrets(t, "error", err)
	return err
}

// htmlPage is a proxy's error page, larger than any bound on an error body.
func htmlPage(status int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<html>\r\n<head><title>%d Bad Gateway</title></head>\r\n<body>\r\n", status)
	for b.Len() < 200<<10 {
		b.WriteString("<p>\tThe upstream server is not answering.\x1b[31m Please try again later.</p>\r\n")
	}
	b.WriteString("</body>\r\n</html>\r\n")
	return b.String()
}

// assertBoundedMessage checks an *APIError's Message and Body stay small and
// that the Message is one printable line.
func assertBoundedMessage(t *testing.T, apiErr *dynamo.APIError) {
	t.Helper()
	assert.LessOrEqual(t, len(apiErr.Body), 64<<10)
	assert.LessOrEqual(t, len(apiErr.Message), 256)
	assert.NotEmpty(t, apiErr.Message)
	assert.False(t, strings.ContainsFunc(apiErr.Message, unicode.IsControl), "the message is one printable line: %q", apiErr.Message)
	assert.LessOrEqual(t, len(apiErr.Error()), 512)
	assert.False(t, strings.ContainsFunc(apiErr.Error(), unicode.IsControl), "the error is one printable line: %q", apiErr.Error())
}

func TestHostileHTMLErrorPage(t *testing.T) {
	t.Parallel()
	page := htmlPage(502)
	t.Run("GET", func(t *testing.T) {
		srv, client, _ := newFake(t, dynamo.WithMaxRetries(1))
		srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Status: 502, Body: page}, dynamotest.Fault{Status: 502, Body: page})
		_, err := client.GetBatchStatus(context.Background(), "b1")
		var apiErr *dynamo.APIError
		require.ErrorAs(t, failed(t, err), &apiErr)
		assert.Equal(t, 502, apiErr.StatusCode)
		assert.Equal(t, 2, apiErr.Attempts)
		assert.Contains(t, apiErr.Message, "502 Bad Gateway")
		assertBoundedMessage(t, apiErr)
		assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
	})
	t.Run("POST", func(t *testing.T) {
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 502, Body: page})
		_, err := client.PostBatch(context.Background(), salesforceBatch(2))
		var apiErr *dynamo.APIError
		require.ErrorAs(t, failed(t, err), &apiErr)
		assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		assert.Contains(t, err.Error(), "may have been created")
		assert.Equal(t, 502, apiErr.StatusCode)
		assertBoundedMessage(t, apiErr)
		assert.Len(t, srv.Requests(), 1, "not retried")
	})
}

func TestHostileJSONErrorMessageIsBounded(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, dynamo.WithMaxRetries(0))
	long := strings.Repeat("line one\nFAKE LOG LINE level=ERROR\r\n\x1b[2J", 1000)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": long})
	})
	_, err := client.GetBatchStatus(context.Background(), "b1")
	var apiErr *dynamo.APIError
	require.ErrorAs(t, failed(t, err), &apiErr)
	assert.True(t, strings.HasPrefix(apiErr.Message, "line one FAKE LOG LINE"), "message: %q", apiErr.Message)
	assertBoundedMessage(t, apiErr)
}

// rawResponse answers with exactly raw on the connection, then closes it.
func rawResponse(t *testing.T, raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		// The connection ends with the answer: say so, so that the client
		// sends nothing more on it.
		raw = strings.Replace(raw, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
	}
}

func TestHostileTruncatedJSON(t *testing.T) {
	t.Parallel()
	short := "HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + `{"completed": true, "id": "b1"`
	cut := "HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n" + `{"completed": tr`
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"content length larger than sent", short},
		{"body cut in a value", cut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			var gets, posts atomic.Int32
			getRaw, postRaw := rawResponse(t, fmt.Sprintf(tc.raw, 200)), rawResponse(t, fmt.Sprintf(tc.raw, 202))
			mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { gets.Add(1); getRaw(w, r) })
			mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) { posts.Add(1); postRaw(w, r) })

			_, err := client.GetBatchStatus(context.Background(), "b1")
			assert.ErrorIs(t, failed(t, err), dynamo.ErrUnexpectedResponse)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)

			_, err = client.GetBatchTaskStatus(context.Background(), "b1", "t1")
			assert.ErrorIs(t, failed(t, err), dynamo.ErrUnexpectedResponse)

			resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
			assert.Nil(t, resp)
			assert.ErrorIs(t, failed(t, err), dynamo.ErrUnexpectedResponse)
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown, "accepted, but the batch ID was lost")
			assert.EqualValues(t, 1, posts.Load(), "an accepted post is never sent again")
			assert.EqualValues(t, 2, gets.Load(), "a bad body is not retried")
		})
	}
}

// endless streams a JSON prefix and then the byte fill up to total bytes, or
// until the client goes away, and counts what it wrote.
func endless(status int, prefix string, fill byte, total int64, written *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		n, err := io.WriteString(w, prefix)
		written.Add(int64(n))
		if err != nil {
			return
		}
		chunk := bytes.Repeat([]byte{fill}, 32<<10)
		for left := total - int64(n); left > 0; {
			n, err := w.Write(chunk[:min(int64(len(chunk)), left)])
			written.Add(int64(n))
			left -= int64(n)
			if err != nil {
				return
			}
		}
	}
}

// TestHostileHugeBody measures the allocations of the whole process: it does
// not run in parallel with other tests.
func TestHostileHugeBody(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name   string
		status int
		call   func(*dynamo.Client) error
		check  func(*testing.T, error)
	}{
		{"GET 200", 200, func(c *dynamo.Client) error {
			_, err := c.GetBatchStatus(context.Background(), "b1")
			return err
		}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, dynamo.ErrUnexpectedResponse)
		}},
		{"POST 202", 202, func(c *dynamo.Client) error {
			_, err := c.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, dynamo.ErrUnexpectedResponse)
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		}},
		{"GET 500", 500, func(c *dynamo.Client) error {
			_, err := c.GetBatchStatus(context.Background(), "b1")
			return err
		}, func(t *testing.T, err error) {
			var apiErr *dynamo.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 3, apiErr.Attempts, "retried, each answer read only in part")
			assertBoundedMessage(t, apiErr)
		}},
		{"POST 400", 400, func(c *dynamo.Client) error {
			_, err := c.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}, func(t *testing.T, err error) {
			var apiErr *dynamo.APIError
			require.ErrorAs(t, err, &apiErr)
			assertBoundedMessage(t, apiErr)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t, dynamo.WithMaxRetries(2))
			var written atomic.Int64
			mux.Handle("/", endless(tc.status, `{"statusMessage":"`, 'a', gib, &written))

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.call(client)
			runtime.ReadMemStats(&after)

			tc.check(t, failed(t, err))
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d MiB; the server wrote %d MiB", allocated>>20, written.Load()>>20)
			assert.Less(t, allocated, uint64(100<<20), "allocated %d MiB for a 1 GiB answer", allocated>>20)
			// The server stops once the client closes the connection.
			assert.Less(t, written.Load(), int64(gib/4), "the client read on")
		})
	}
}

func TestHostileTaskCountMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		ids        int
	}{
		{"fewer", `{"id":"b-1","tasks":["t1"],"message":"Success","licenseUsage":1}`, 1},
		{"more", `{"id":"b-1","tasks":["t1","t2","t3"],"message":"Success","licenseUsage":3}`, 3},
		{"none", `{"id":"b-1","message":"Success"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			var posts atomic.Int32
			mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				testHeader(t, r, "Content-Type", "application/json")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, tc.body)
			})
			resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
			var countErr *dynamo.BatchTaskCountError
			require.ErrorAs(t, failed(t, err), &countErr)
			assert.ErrorIs(t, err, dynamo.ErrUnexpectedResponse)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "the batch is known to exist")
			assert.Equal(t, 2, countErr.Posted)
			require.NotNil(t, resp, "the answer comes with the error")
			assert.Len(t, resp.TaskIDs, tc.ids)
			assert.Same(t, resp, countErr.Response)
			assert.EqualValues(t, 1, posts.Load())
		})
	}
}

func TestHostileNeverAnswers(t *testing.T) {
	t.Parallel()
	// Each server below holds the request until the client goes away; the
	// bound is generous against that.
	const bound = 5 * time.Second
	// A second is far more than a post or a status call takes here, even
	// under -race on a loaded machine, and far less than the bound.
	hangingClient := func(t *testing.T) *http.Client {
		return &http.Client{Timeout: time.Second, Transport: newTransport(t)}
	}

	t.Run("GET context deadline", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Hang: true}, dynamotest.Fault{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.GetBatchStatus(ctx, "b1")
		assert.Less(t, time.Since(start), bound)
		assert.ErrorIs(t, failed(t, err), context.DeadlineExceeded)
		assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		assert.Equal(t, 1, requestsTo(srv, http.MethodGet), "no attempt after the deadline")
	})
	t.Run("GET client timeout", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t, dynamo.WithHTTPClient(hangingClient(t)), dynamo.WithMaxRetries(0))
		srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Hang: true})
		start := time.Now()
		_, err := client.GetBatchStatus(context.Background(), "b1")
		assert.Less(t, time.Since(start), bound)
		var netErr net.Error
		require.ErrorAs(t, failed(t, err), &netErr)
		assert.True(t, netErr.Timeout())
		assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
	})
	t.Run("GET client timeout then answer", func(t *testing.T) {
		t.Parallel()
		srv, client, logs := newFake(t, dynamo.WithHTTPClient(hangingClient(t)))
		posted := mustPost(t, client)
		srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Hang: true})
		_, err := client.GetBatchStatus(context.Background(), posted.ID)
		require.NoError(t, err, "a GET that timed out is sent again")
		assert.Equal(t, 2, requestsTo(srv, http.MethodGet))
		assertRetryLogged(t, logs, "Client.Timeout")
	})
	t.Run("POST client timeout", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t, dynamo.WithHTTPClient(hangingClient(t)))
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true})
		start := time.Now()
		_, err := client.PostBatch(context.Background(), salesforceBatch(2))
		assert.Less(t, time.Since(start), bound)
		assert.ErrorIs(t, failed(t, err), dynamo.ErrOutcomeUnknown)
		assert.Contains(t, err.Error(), "may have been created")
		var netErr net.Error
		require.ErrorAs(t, err, &netErr)
		assert.True(t, netErr.Timeout())
		assert.Len(t, srv.Requests(), 1, "not retried")
	})
	t.Run("POST context deadline", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		_, err := client.PostBatch(ctx, salesforceBatch(2))
		assert.ErrorIs(t, failed(t, err), dynamo.ErrOutcomeUnknown)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, srv.Requests(), 1)
	})
	t.Run("body trickles forever", func(t *testing.T) {
		t.Parallel()
		client, mux, _ := setup(t)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"statusMessage":"`)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-tick.C:
				}
				if _, err := io.WriteString(w, "a"); err != nil {
					return
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.GetBatchStatus(ctx, "b1")
		assert.Less(t, time.Since(start), bound)
		assert.ErrorIs(t, failed(t, err), context.DeadlineExceeded)
	})
}

func TestHostileWrongTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path, body string
	}{
		{"completed as string", "/v1/batch/b1", `{"completed":"yes","tasks":[]}`},
		{"errors as number", "/v1/batch/b1", `{"completed":true,"errors":1}`},
		{"tasks as string", "/v1/batch/b1", `{"completed":true,"tasks":"none"}`},
		{"task id as number", "/v1/batch/b1", `{"completed":true,"tasks":[{"id":5}]}`},
		{"not an object", "/v1/batch/b1", `["completed"]`},
		{"html", "/v1/batch/b1", `<html><body>OK</body></html>`},
		{"task completed as string", "/v1/batch/b1/t1", `{"completed":"yes"}`},
		{"task results as object", "/v1/batch/b1/t1", `{"completed":true,"results":{"a":1}}`},
		{"task log as number", "/v1/batch/b1/t1", `{"completed":true,"log":5}`},
		{"task logs as object", "/v1/batch/b1/t1", `{"completed":true,"logs":{}}`},
		{"task resultList url as number", "/v1/batch/b1/t1", `{"resultList":[{"id":"x","url":1}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			mux.HandleFunc("GET "+tc.path, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			var err error
			if strings.Count(tc.path, "/") == 3 {
				_, err = client.GetBatchStatus(context.Background(), "b1")
			} else {
				_, err = client.GetBatchTaskStatus(context.Background(), "b1", "t1")
			}
			assert.ErrorIs(t, failed(t, err), dynamo.ErrUnexpectedResponse)
			var apiErr *dynamo.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusOK, apiErr.StatusCode, "the answer the SDK could not use")
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a GET creates nothing")
		})
	}
	t.Run("post answer id as number", func(t *testing.T) {
		client, mux, _ := setup(t)
		mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"id":5,"tasks":["a","b"]}`)
		})
		_, err := client.PostBatch(context.Background(), salesforceBatch(2))
		assert.ErrorIs(t, failed(t, err), dynamo.ErrUnexpectedResponse)
		assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
	})
}

func TestHostileHugeHeader(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, dynamo.WithMaxRetries(1))
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Padding", strings.Repeat("p", 11<<20))
		io.WriteString(w, `{}`)
	})
	_, err := client.GetBatchStatus(context.Background(), "b1")
	assert.ErrorContains(t, failed(t, err), "header")
	assert.EqualValues(t, 2, calls.Load())
}
