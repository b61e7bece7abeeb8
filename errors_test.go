package dynamo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// TestErrorTextsSayEachThingOnce checks the whole text of the errors of
// calls that got no answer: the request once, the cause, and for a post
// whether it was sent and what to do.
func TestErrorTextsSayEachThingOnce(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// waiting is cancelled by the wait before a retry.
	waiting, stopWaiting := context.WithCancel(context.Background())
	t.Cleanup(stopWaiting)
	stopAtTheWait := dynamo.WithClock(func(context.Context, time.Duration) error { stopWaiting(); return context.Canceled }, nil)
	for _, tc := range []struct {
		name   string
		status int // the server's answer
		opts   []dynamo.Option
		call   func(*dynamo.Client) error
		want   string
	}{
		{"post, context ended before", 0, nil, func(c *dynamo.Client) error {
			_, err := c.PostBatch(cancelled, salesforceBatch(1))
			return err
		}, "dynamo: POST /v1/batch: context canceled; nothing of the request body was sent, so the batch was not created: it can be posted again"},
		{"task post, context ended before", 0, nil, func(c *dynamo.Client) error {
			_, err := c.PostTask(cancelled, salesforceTask())
			return err
		}, "dynamo: POST /v1/task: context canceled; nothing of the request body was sent, so the task was not created: it can be posted again"},
		{"post stopped while waiting to retry", http.StatusServiceUnavailable, []dynamo.Option{stopAtTheWait}, func(c *dynamo.Client) error {
			_, err := c.PostBatch(waiting, salesforceBatch(1))
			return err
		}, "dynamo: POST /v1/batch: context canceled; stopped before sending it again after status 503, so the batch was not created: it can be posted again"},
		{"get, context ended before", 0, nil, func(c *dynamo.Client) error {
			_, err := c.GetBatchStatus(cancelled, "b1")
			return err
		}, "dynamo: GET /v1/batch/b1: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t, tc.opts...)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if tc.status == 0 {
					t.Errorf("%s %s arrived", r.Method, r.URL.Path)
				}
				w.WriteHeader(tc.status)
			})
			err := tc.call(client)
			assert.EqualError(t, err, tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "/v1/"), "the request is said once")
			assert.ErrorIs(t, err, context.Canceled)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		})
	}
}

func TestRequestIDThatEchoesASecretIsDropped(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Dynamo-Api-Key"))
		http.Error(w, `{"message":"no"}`, http.StatusBadRequest)
	})
	_, err := client.GetBatchStatus(context.Background(), "b1")
	var apiErr *dynamo.APIError
	require.ErrorAs(t, failed(t, err), &apiErr)
	assert.Empty(t, apiErr.RequestID)
}
