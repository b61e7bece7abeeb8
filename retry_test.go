package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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

// Log messages of the request path.
const (
	logRequest  = "dynamo: request"
	logRetrying = "dynamo: retrying"
	logFailed   = "dynamo: request failed"
)

// assertRetryLogged checks that each retry was logged at debug level with its
// reason, numbered from 1.
func assertRetryLogged(t *testing.T, logs *logCapture, reasons ...string) {
	t.Helper()
	recs := logs.Records(logRetrying)
	require.Len(t, recs, len(reasons), "one debug record per retry")
	for i, rec := range recs {
		assert.Equal(t, slog.LevelDebug, rec.Level, "retry %d", i+1)
		assert.Equal(t, strconv.Itoa(i+1), rec.Attrs["retry"], "retry %d", i+1)
		assert.Contains(t, rec.Attrs["reason"], reasons[i], "retry %d", i+1)
		assert.NotEmpty(t, rec.Attrs["wait"], "retry %d", i+1)
	}
}

func TestRetryGetServerErrorsAndRateLimitThenSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 429, 507} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv, client, logs := newFake(t)
			posted := mustPost(t, client)
			srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Status: status}, dynamotest.Fault{Status: status})

			st, err := client.GetBatchStatus(context.Background(), posted.ID)
			require.NoError(t, err)
			assert.Len(t, st.Tasks, 2)
			assert.Equal(t, 3, requestsTo(srv, http.MethodGet), "two failures, then the answer")
			reason := fmt.Sprintf("status %d", status)
			assertRetryLogged(t, logs, reason, reason)
			assert.Len(t, logs.Records(logRequest), 4, "the post and three status attempts")
		})
	}
}

func TestRetryGetNotRetriedOnOtherStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int
		sentinel error
	}{
		{http.StatusNotImplemented, nil},
		{http.StatusBadRequest, nil},
		{http.StatusUnauthorized, dynamo.ErrUnauthorized},
		{http.StatusForbidden, dynamo.ErrUnauthorized},
		{http.StatusNotFound, dynamo.ErrNotFound},
		{http.StatusConflict, nil},
		{http.StatusRequestTimeout, nil},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			client, mux, logs := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/v1/batch/{id}", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				testMethod(t, r, http.MethodGet)
				testHeader(t, r, "x-dynamo-api-key", testAPIKey)
				testHeader(t, r, "x-dynamo-tenant-id", testTenantID)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"message":"no luck %d"}`, tc.status)
			})
			_, err := client.GetBatchStatus(context.Background(), "b1")
			var apiErr *dynamo.APIError
			require.ErrorAs(t, failed(t, err), &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, 1, apiErr.Attempts)
			assert.Equal(t, fmt.Sprintf("no luck %d", tc.status), apiErr.Message)
			assert.EqualValues(t, 1, calls.Load(), "not retried")
			assert.Empty(t, logs.Records(logRetrying))
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a GET creates nothing")
		})
	}
}

func TestRetryGetOnDroppedConnections(t *testing.T) {
	t.Parallel()
	srv, client, logs := newFake(t)
	posted := mustPost(t, client)
	client.CloseIdleConnections() // a fresh connection: the transport itself replays nothing
	srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{DropBeforeRead: true}, dynamotest.Fault{DropBeforeRead: true})

	st, err := client.GetBatchStatus(context.Background(), posted.ID)
	require.NoError(t, err)
	assert.Len(t, st.Tasks, 2)
	assert.GreaterOrEqual(t, requestsTo(srv, http.MethodGet), 3)
	recs := logs.Records(logRetrying)
	require.NotEmpty(t, recs, "the SDK retried, not only the transport")
	for _, rec := range recs {
		assert.Contains(t, rec.Attrs["reason"], "EOF")
	}
}

func TestRetryMaxRetriesBoundsAttempts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 5} {
		t.Run(fmt.Sprintf("status/%d", n), func(t *testing.T) {
			client, mux, logs := setup(t, dynamo.WithMaxRetries(n))
			var gets, posts atomic.Int32
			mux.HandleFunc("GET /v1/batch/{id}", func(w http.ResponseWriter, r *http.Request) {
				gets.Add(1)
				http.Error(w, `{"message":"busy"}`, http.StatusServiceUnavailable)
			})
			mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				http.Error(w, `{"message":"busy"}`, http.StatusServiceUnavailable)
			})

			_, err := client.GetBatchStatus(context.Background(), "b1")
			assertAttempts(t, err, n+1)
			assert.EqualValues(t, n+1, gets.Load())
			assert.Len(t, logs.Records(logRetrying), n)

			_, err = client.PostBatch(context.Background(), salesforceBatch(1))
			assertAttempts(t, err, n+1)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "503 says the post was not taken")
			assert.EqualValues(t, n+1, posts.Load())
		})
		t.Run(fmt.Sprintf("refused/%d", n), func(t *testing.T) {
			var dials atomic.Int32
			tr := newTransport(t)
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			logs := newLogCapture()
			client, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL("http://"+closedAddr(t)),
				dynamo.WithHTTPClient(&http.Client{Transport: tr}), dynamo.WithMaxRetries(n), newFakeClock().option(),
				dynamo.WithLogger(logs.Logger()))
			require.NoError(t, err)

			_, err = client.PostBatch(context.Background(), salesforceBatch(1))
			require.Error(t, err)
			var opErr *net.OpError
			require.ErrorAs(t, err, &opErr)
			assert.Equal(t, "dial", opErr.Op)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "nothing reached a server")
			assert.EqualValues(t, n+1, dials.Load(), "a refused post is retried")
			if n > 0 {
				assert.Contains(t, err.Error(), fmt.Sprintf("after %d attempts", n+1))
			}
			assert.Len(t, logs.Records(logRetrying), n)
			for _, rec := range logs.Records(logRetrying) {
				assert.Contains(t, rec.Attrs["reason"], "connection refused")
			}
			assertPrintsNoSecrets(t, "error", err)

			_, err = client.GetBatchStatus(context.Background(), "b1")
			require.ErrorAs(t, failed(t, err), &opErr)
			assert.EqualValues(t, 2*(n+1), dials.Load(), "a refused GET is retried")
			if n > 0 {
				assert.Contains(t, err.Error(), fmt.Sprintf("after %d attempts", n+1))
			}
			assertNoSecrets(t, "log", logs.Text())
		})
	}
}

// assertAttempts checks that err is an *APIError that says how many attempts
// were made.
func assertAttempts(t *testing.T, err error, attempts int) {
	t.Helper()
	var apiErr *dynamo.APIError
	require.ErrorAs(t, failed(t, err), &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, attempts, apiErr.Attempts)
	if attempts > 1 {
		assert.Contains(t, err.Error(), fmt.Sprintf("after %d attempts", attempts))
	} else {
		assert.NotContains(t, err.Error(), "attempts")
	}
}

func TestRetryPostOnlyWhenNotTaken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		faults   []dynamotest.Fault
		requests int // requests that reach the fake
		batches  int // batches it holds afterwards
		ok       bool
		unknown  bool // the error matches ErrOutcomeUnknown
		status   int  // the *APIError's status, 0 for none
	}{
		{"503 twice", []dynamotest.Fault{{Status: 503}, {Status: 503}}, 3, 1, true, false, 0},
		{"429 twice", []dynamotest.Fault{{Status: 429}, {Status: 429}}, 3, 1, true, false, 0},
		{"500", []dynamotest.Fault{{Status: 500}}, 1, 0, false, true, 500},
		{"502", []dynamotest.Fault{{Status: 502}}, 1, 0, false, true, 502},
		{"504", []dynamotest.Fault{{Status: 504}}, 1, 0, false, true, 504},
		{"501", []dynamotest.Fault{{Status: 501}}, 1, 0, false, false, 501},
		{"400", []dynamotest.Fault{{Status: 400}}, 1, 0, false, false, 400},
		{"drop after accept", []dynamotest.Fault{{DropAfterAccept: true}}, 1, 1, false, true, 0},
		{"503 then drop after accept", []dynamotest.Fault{{Status: 503}, {DropAfterAccept: true}}, 2, 1, false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recordingTransport{base: newTransport(t)}
			srv, client, logs := newFake(t, dynamo.WithHTTPClient(&http.Client{Transport: rt}))
			srv.Inject(dynamotest.RoutePostBatch, tc.faults...)

			resp, err := client.PostBatch(context.Background(), salesforceBatch(2))

			assert.Len(t, srv.Requests(), tc.requests)
			sent := rt.Requests()
			require.Len(t, sent, tc.requests)
			for i, r := range sent {
				assert.Equal(t, sent[0].Body(), r.Body(), "attempt %d sent the same bytes", i+1)
			}
			assert.Len(t, srv.Batches(), tc.batches)
			assert.Len(t, logs.Records(logRetrying), tc.requests-1)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, srv.Batches()[0].ID, resp.ID)
				assert.Len(t, resp.TaskIDs, 2)
				last := srv.Requests()[tc.requests-1]
				assert.Equal(t, string(last.JSON), string(sent[0].Body()), "the fake parsed what every attempt sent")
				return
			}
			require.Error(t, err)
			assert.Nil(t, resp)
			assertPrintsNoSecrets(t, "error", err)
			if tc.unknown {
				assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
				assert.Contains(t, err.Error(), "may have been created")
			} else {
				assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
			}
			var apiErr *dynamo.APIError
			if tc.status == 0 {
				assert.False(t, errors.As(err, &apiErr), "no answer came: %v", err)
				return
			}
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.unknown, apiErr.OutcomeUnknown)
		})
	}
}

// flakyDialer refuses the first refuse connections (it dials a closed
// listener instead), then connects as asked.
type flakyDialer struct {
	refuse int32
	closed string
	dials  atomic.Int32
}

func (d *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.dials.Add(1) <= d.refuse {
		addr = d.closed
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestRetryPostRetriedWhenConnectionRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		post func(*dynamo.Client) (*dynamo.BatchResponse, error)
	}{
		{"json", func(c *dynamo.Client) (*dynamo.BatchResponse, error) {
			return c.PostBatch(context.Background(), salesforceBatch(2))
		}},
		{"template from reader", func(c *dynamo.Client) (*dynamo.BatchResponse, error) {
			// Nothing of the reader was read before the connection failed,
			// so sending it on the next attempt is still possible.
			tmpl := dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP template bytes"))
			return c.PostBatchWithTemplate(context.Background(), tmpl, embeddedSalesforceBatch(2))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dialer := &flakyDialer{refuse: 2, closed: closedAddr(t)}
			tr := newTransport(t)
			tr.DialContext = dialer.DialContext
			srv, client, logs := newFake(t, dynamo.WithHTTPClient(&http.Client{Transport: tr}))

			resp, err := tc.post(client)
			require.NoError(t, err)
			assert.EqualValues(t, 3, dialer.dials.Load())
			require.Len(t, srv.Batches(), 1)
			assert.Equal(t, srv.Batches()[0].ID, resp.ID)
			assert.Len(t, srv.Requests(), 1)
			assertRetryLogged(t, logs, "connection refused", "connection refused")
		})
	}
}

func TestRetryTemplateFromReaderNotResentOnceRead(t *testing.T) {
	t.Parallel()
	t.Run("lost answer", func(t *testing.T) {
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{DropAfterAccept: true})
		tmpl := dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP"))
		_, err := client.PostBatchWithTemplate(context.Background(), tmpl, embeddedSalesforceBatch(1))
		assert.ErrorIs(t, failed(t, err), dynamo.ErrOutcomeUnknown, "the batch may exist: that comes first")
		assert.Len(t, srv.Requests(), 1)
		assert.Len(t, srv.Batches(), 1)
	})
	client, mux, logs := setup(t)
	var posts atomic.Int32
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		refuseOnceRead(http.StatusTooManyRequests)(w, r)
	})
	tmpl := dynamo.TemplateFromReader("t.dap", strings.NewReader(strings.Repeat("DAP ", 10_000)))

	_, err := client.PostBatchWithTemplate(context.Background(), tmpl, embeddedSalesforceBatch(1))
	require.ErrorIs(t, err, dynamo.ErrNotReplayable)
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	assert.EqualValues(t, 1, posts.Load())
	assert.Empty(t, logs.Records(logRetrying))
	assertPrintsNoSecrets(t, "error", err)
}

func TestRetryAfterSecondsIsWaited(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv, client, logs := newFake(t, dynamo.WithRetryWait(time.Millisecond, 2*time.Second), clock.option())
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{
		Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"1"}},
	})

	resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second}, clock.Waits(), "Retry-After: 1 was honoured")
	assert.Len(t, srv.Requests(), 2)
	require.Len(t, srv.Batches(), 1)
	assert.Equal(t, srv.Batches()[0].ID, resp.ID)
	assertRetryLogged(t, logs, "status 429")
	assert.Equal(t, "1s", logs.Records(logRetrying)[0].Attrs["wait"])
}

func TestRetryAfterHTTPDateIsWaited(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv, client, logs := newFake(t, dynamo.WithRetryWait(time.Millisecond, 5*time.Second), clock.option())
	posted := mustPost(t, client)
	until := clock.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{
		Status: http.StatusServiceUnavailable,
		Header: http.Header{"Retry-After": {until.Format(http.TimeFormat)}},
	})

	_, err := client.GetBatchStatus(context.Background(), posted.ID)
	require.NoError(t, err)
	waits := clock.Waits()
	require.Len(t, waits, 1)
	assert.Equal(t, until, clock.Now().UTC().Truncate(time.Second), "the wait lasts until the date the server gave")
	assert.Greater(t, waits[0], time.Second) // an HTTP date has whole seconds: between 1 and 2 s
	assert.LessOrEqual(t, waits[0], 2*time.Second)
	assertRetryLogged(t, logs, "status 503")
}

// TestRetryWaitsOnTheRealClock shows, once and briefly, that the waits the
// other tests take on a fake clock are slept for real.
func TestRetryWaitsOnTheRealClock(t *testing.T) {
	t.Parallel()
	srv, client, logs := newFake(t, dynamo.WithRetryWait(20*time.Millisecond, 50*time.Millisecond), dynamo.WithRealClock())
	posted := mustPost(t, client)
	srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Status: http.StatusBadGateway}, dynamotest.Fault{Status: http.StatusBadGateway})
	start := time.Now()
	_, err := client.GetBatchStatus(context.Background(), posted.ID)
	require.NoError(t, err)
	var total time.Duration
	for _, rec := range logs.Records(logRetrying) {
		d, err := time.ParseDuration(rec.Attrs["wait"])
		require.NoError(t, err)
		total += d
	}
	assert.GreaterOrEqual(t, time.Since(start), total, "timers never fire early")
}

func TestRetryAfterAboveCapIsNotWaited(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusTooManyRequests, "30", 30 * time.Second},
		{http.StatusServiceUnavailable, "3600", time.Hour},
		{http.StatusTooManyRequests, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), time.Hour},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(fmt.Sprintf("%s/%d/%s", method, tc.status, tc.retryAfter), func(t *testing.T) {
				client, mux, logs := setup(t, dynamo.WithRetryWait(time.Millisecond, 20*time.Millisecond))
				var calls atomic.Int32
				mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Header().Set("Retry-After", tc.retryAfter)
					http.Error(w, `{"message":"slow down"}`, tc.status)
				})
				start := time.Now()
				var err error
				if method == http.MethodGet {
					_, err = client.GetBatchStatus(context.Background(), "b1")
				} else {
					_, err = client.PostBatch(context.Background(), salesforceBatch(1))
				}
				assert.Less(t, time.Since(start), 5*time.Second, "a wait over the cap is not made")
				var apiErr *dynamo.APIError
				require.ErrorAs(t, failed(t, err), &apiErr)
				assert.Equal(t, tc.status, apiErr.StatusCode)
				assert.InDelta(t, tc.want, apiErr.RetryAfter, float64(2*time.Second))
				assert.EqualValues(t, 1, calls.Load())
				assert.Empty(t, logs.Records(logRetrying))
				if tc.status == http.StatusTooManyRequests {
					assert.ErrorIs(t, err, dynamo.ErrRateLimited)
				}
				assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
			})
		}
	}
}

// TestRetryAfterParsing checks how a Retry-After value is read, through the
// RetryAfter of the error of a call that is not retried.
func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		value    string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"0", 0, 0},
		{"120", 120 * time.Second, 120 * time.Second},
		{" 7 ", 7 * time.Second, 7 * time.Second},
		{"-5", 0, 0},
		{"1.5", 0, 0},
		{"soon", 0, 0},
		{"99999999999999", 24 * time.Hour, 24 * time.Hour}, // capped at a day
		{"999999999999999999999999", 0, 0},                 // out of range: ignored
		{now.Add(90 * time.Second).UTC().Format(http.TimeFormat), 85 * time.Second, 90 * time.Second},
		{now.Add(90 * time.Second).UTC().Format(time.RFC850), 85 * time.Second, 90 * time.Second},
		{now.Add(90 * time.Second).UTC().Format(time.ANSIC), 85 * time.Second, 90 * time.Second},
		{now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
		{now.Add(90 * time.Second).Format(time.RFC3339), 0, 0}, // not an HTTP date
	}
	client, mux, _ := setup(t, dynamo.WithMaxRetries(0))
	mux.HandleFunc("GET /v1/batch/{id}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("id"))
		require.NoError(t, err)
		if v := cases[i].value; v != "" {
			w.Header().Set("Retry-After", v)
		}
		http.Error(w, `{"message":"slow down"}`, http.StatusTooManyRequests)
	})
	for i, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			_, err := client.GetBatchStatus(context.Background(), strconv.Itoa(i))
			var apiErr *dynamo.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.GreaterOrEqual(t, apiErr.RetryAfter, tc.min)
			assert.LessOrEqual(t, apiErr.RetryAfter, tc.max)
		})
	}
}

// TestRetryBackoffFullJitterBounds reads the waits from the retry log records:
// retry n (from 1) waits a random time in [0, min·2ⁿ⁻¹], never above max.
func TestRetryBackoffFullJitterBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		min, max time.Duration
		retries  int
		ceilings []time.Duration // the largest wait of each retry
	}{
		{time.Millisecond, 8 * time.Millisecond, 6,
			[]time.Duration{1, 2, 4, 8, 8, 8}},
		{2 * time.Millisecond, 3 * time.Millisecond, 4,
			[]time.Duration{2, 3, 3, 3}},
		{time.Millisecond, time.Millisecond, 3,
			[]time.Duration{1, 1, 1}},
		{0, 10 * time.Millisecond, 3, // no minimum: retry at once
			[]time.Duration{0, 0, 0}},
		{4 * time.Millisecond, time.Hour, 3,
			[]time.Duration{4, 8, 16}},
	} {
		t.Run(fmt.Sprintf("%v-%v", tc.min, tc.max), func(t *testing.T) {
			client, mux, logs := setup(t, dynamo.WithRetryWait(tc.min, tc.max), dynamo.WithMaxRetries(tc.retries))
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "busy", http.StatusServiceUnavailable)
			})
			const calls = 8
			for range calls {
				_, err := client.GetBatchStatus(context.Background(), "b1")
				require.Error(t, err)
			}
			recs := logs.Records(logRetrying)
			require.Len(t, recs, calls*tc.retries)
			samples := make([][]time.Duration, tc.retries)
			for _, rec := range recs {
				n, err := strconv.Atoi(rec.Attrs["retry"])
				require.NoError(t, err)
				wait, err := time.ParseDuration(rec.Attrs["wait"])
				require.NoError(t, err)
				samples[n-1] = append(samples[n-1], wait)
			}
			// Full jitter: with a ceiling large enough to tell, some waits
			// fall in its lower half (each does with probability 1/2).
			var all []time.Duration
			lowerHalf := 0
			for n, waits := range samples {
				ceiling := tc.ceilings[n] * time.Millisecond
				for _, w := range waits {
					assert.GreaterOrEqual(t, w, time.Duration(0), "retry %d", n+1)
					assert.LessOrEqual(t, w, ceiling, "retry %d", n+1)
					if ceiling >= 4*time.Millisecond {
						all = append(all, w)
						if w < ceiling/2 {
							lowerHalf++
						}
					}
				}
			}
			if len(all) > 0 {
				assert.Positive(t, lowerHalf, "waits are jittered down from the ceiling, got %v", samples)
				assert.False(t, allEqual(all), "waits are random, got %v", all)
			}
		})
	}
}

func allEqual(ds []time.Duration) bool {
	for _, d := range ds {
		if d != ds[0] {
			return false
		}
	}
	return true
}

// TestRetryConcurrentCallsKeepTheirOwnState runs calls that fail in different
// ways on one client at once: each call's error tells its own story.
func TestRetryConcurrentCallsKeepTheirOwnState(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, dynamo.WithMaxRetries(2))
	mux.HandleFunc("GET /v1/batch/{id}", func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.PathValue("id"))
		http.Error(w, `{"message":"x"}`, status)
	})
	var wg sync.WaitGroup
	for range 4 {
		for _, status := range []int{404, 503} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := client.GetBatchStatus(context.Background(), strconv.Itoa(status))
				var apiErr *dynamo.APIError
				if assert.ErrorAs(t, err, &apiErr) {
					assert.Equal(t, status, apiErr.StatusCode)
					want := 1
					if status == 503 {
						want = 3
					}
					assert.Equal(t, want, apiErr.Attempts)
				}
			}()
		}
	}
	wg.Wait()
}

// TestRetryPostRefusedBeforeTheUploadEnded covers a server that answers 503
// before it has read the body: the upload is cut short, the answer still
// counts, and the post is sent again in full.
func TestRetryPostRefusedBeforeTheUploadEnded(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	srv, client, logs := newFake(t)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	var opens atomic.Int32
	tmpl := dynamo.TemplateFromOpener("big.dap", size, func() (io.ReadCloser, error) {
		opens.Add(1)
		return &trackedSource{left: size, closed: make(chan struct{})}, nil
	})
	resp, err := client.PostBatchWithTemplate(context.Background(), tmpl, embeddedSalesforceBatch(1))
	require.NoError(t, err)
	require.Len(t, srv.Batches(), 1)
	assert.Equal(t, srv.Batches()[0].ID, resp.ID)
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Zero(t, reqs[0].BytesRead, "the first attempt was refused before its body was sent")
	require.NotNil(t, reqs[1].Template)
	assert.EqualValues(t, size, reqs[1].Template.Size)
	assert.EqualValues(t, 1, opens.Load(), "the refused attempt never opened the template")
	assertRetryLogged(t, logs, "status 503")
}
