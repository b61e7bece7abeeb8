package dynamo_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// promptly is how soon after its context is cancelled a call must return.
// What it interrupts would otherwise last 30 s: the bound tells the two
// apart even under -race on a loaded machine.
const promptly = 2 * time.Second

// stall is how long the servers below hold a request when nothing ends it.
const stall = 30 * time.Second

// waitLong bounds the waits for events that take milliseconds.
const waitLong = 10 * time.Second

// runCall runs call in a goroutine and returns the channel its result comes on.
func runCall(call func() error) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		err := call()
		ch <- callResult{err: err, done: time.Now()}
	}()
	return ch
}

// cancelAndWait cancels, then waits for the call's result and checks that it
// came promptly and matches context.Canceled.
func cancelAndWait(t *testing.T, cancel context.CancelFunc, ch <-chan callResult) error {
	t.Helper()
	cancelled := time.Now()
	cancel()
	select {
	case r := <-ch:
		assert.Less(t, r.done.Sub(cancelled), promptly, "returned %v after the cancel", r.done.Sub(cancelled))
		assert.ErrorIs(t, r.err, context.Canceled)
		assertPrintsNoSecrets(t, "error", r.err)
		return r.err
	case <-time.After(waitLong):
		t.Fatalf("the call did not return within %v of the cancel", waitLong)
		return nil
	}
}

// zeroReaderAt is an endless source of zero bytes that allocates nothing.
type zeroReaderAt struct{}

func (zeroReaderAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// trackedSource yields size bytes of 'D' and reports its Close.
type trackedSource struct {
	left   int64
	closed chan struct{}
	once   sync.Once
}

func (s *trackedSource) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.left)
	for i := range n {
		p[i] = 'D'
	}
	s.left -= n
	return int(n), nil
}

func (s *trackedSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func TestCancelStopsUpload(t *testing.T) {
	t.Parallel()
	const size = 1 << 30
	type source struct {
		tmpl   dynamo.Template
		closed <-chan struct{} // nil when not tracked
	}
	for _, tc := range []struct {
		name   string
		source func() source
	}{
		{"reader at", func() source {
			return source{tmpl: dynamo.TemplateFromReaderAt("big.dap", zeroReaderAt{}, size)}
		}},
		{"opener", func() source {
			closed := make(chan struct{})
			var opens atomic.Int32
			tmpl := dynamo.TemplateFromOpener("big.dap", size, func() (io.ReadCloser, error) {
				if opens.Add(1) > 1 {
					t.Error("the template was opened again after the cancel")
				}
				return &trackedSource{left: size, closed: closed}, nil
			})
			return source{tmpl: tmpl, closed: closed}
		}},
		{"opener of unknown size", func() source {
			closed := make(chan struct{})
			tmpl := dynamo.TemplateFromOpener("big.dap", -1, func() (io.ReadCloser, error) {
				return &trackedSource{left: size, closed: closed}, nil
			})
			return source{tmpl: tmpl, closed: closed}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			reading := make(chan struct{})
			release := make(chan struct{})
			var posts atomic.Int32
			mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
				if posts.Add(1) > 1 {
					t.Error("the post was sent again after the cancel")
					return
				}
				// Read a little, then stall like a server that stopped
				// reading, until the test ends.
				_, err := io.ReadFull(r.Body, make([]byte, 1024))
				assert.NoError(t, err)
				close(reading)
				select {
				case <-release:
				case <-time.After(stall):
				}
			})
			t.Cleanup(func() { close(release) }) // before the server closes

			src := tc.source()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := runCall(func() error {
				_, err := client.PostBatchWithTemplate(ctx, src.tmpl, embeddedSalesforceBatch(1))
				return err
			})
			if !within(t, reading, waitLong, "the upload to start") {
				return
			}
			err := cancelAndWait(t, cancel, ch)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "the body was not sent whole")
			if src.closed != nil {
				within(t, src.closed, waitLong, "the template source to be closed")
			}
			assert.EqualValues(t, 1, posts.Load())
		})
	}
}

func TestCancelStopsBackoffSleep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method string
		status int
	}{
		{http.MethodGet, http.StatusServiceUnavailable},
		{http.MethodGet, http.StatusTooManyRequests},
		{http.MethodPost, http.StatusServiceUnavailable},
		{http.MethodPost, http.StatusTooManyRequests},
	} {
		t.Run(tc.method+"/"+strconv.Itoa(tc.status), func(t *testing.T) {
			// The cap allows the 30 s the server asks for, on the real clock.
			client, mux, logs := setup(t, dynamo.WithRetryWait(time.Millisecond, time.Minute), dynamo.WithRealClock())
			var calls atomic.Int32
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(int(stall/time.Second)))
				http.Error(w, `{"message":"later"}`, tc.status)
			})

			sleeping := logs.Next(logRetrying)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := runCall(func() error {
				var err error
				if tc.method == http.MethodGet {
					_, err = client.GetBatchStatus(ctx, "b1")
				} else {
					_, err = client.PostBatch(ctx, salesforceBatch(1))
				}
				return err
			})
			if !within(t, sleeping, waitLong, "the backoff to start") {
				return
			}
			assert.Equal(t, "30s", logs.Records(logRetrying)[0].Attrs["wait"])
			err := cancelAndWait(t, cancel, ch)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown,
				"the server answered %d: the post was not taken", tc.status)
			assert.EqualValues(t, 1, calls.Load())
		})
	}
}

func TestCancelStopsStatusRequestInFlight(t *testing.T) {
	t.Parallel()
	srv, client, logs := newFake(t)
	posted := mustPost(t, client)
	srv.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Hang: true})

	sent := logs.Next(logRequest)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runCall(func() error {
		_, err := client.WaitBatch(ctx, posted.ID)
		return err
	})
	if !within(t, sent, waitLong, "the status request") {
		return
	}
	cancelAndWait(t, cancel, ch)
}
