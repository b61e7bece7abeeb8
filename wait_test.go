package dynamo_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestWaitBatch(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv, client, _ := newFake(t, clock.option())
	resp := postTasks(t, srv, 2)

	var seen []string
	polls := 0
	st, err := client.WaitBatch(context.Background(), resp.ID,
		dynamo.WithMaxPollInterval(3*time.Second),
		dynamo.WithBatchProgress(func(s *dynamo.BatchStatus) {
			seen = append(seen, s.StatusMessage)
			polls++
			switch polls { // the test drives the fake one step per poll
			case 2:
				srv.StartBatchTask(resp.ID, resp.TaskIDs[0])
			case 3:
				srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0])
				srv.FailBatchTask(resp.ID, resp.TaskIDs[1], "template error")
			}
		}))
	require.NoError(t, err, "a batch completed with task errors is not an error of WaitBatch")
	assert.True(t, st.Completed)
	assert.True(t, st.Errors)
	assert.Equal(t, []string{"Waiting", "Waiting", "Started", "Completed"}, seen)
	assert.Len(t, srv.Requests(), 1+len(seen), "one status call per progress report")
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, clock.Waits(),
		"waits double from the default poll interval, up to the maximum")
}

func TestWaitBatchUnknownBatch(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	_, err := srv.Client().WaitBatch(context.Background(), "0123456789abcdef0123456789abcdef")
	assert.ErrorIs(t, err, dynamo.ErrNotFound)
}

func TestWaitBatchExpiresAfter24Hours(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano())
	srv := dynamotest.NewServer(dynamotest.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	t.Cleanup(srv.Close)
	resp := postTasks(t, srv, 1)
	client := srv.Client()
	_, err := client.GetBatchStatus(context.Background(), resp.ID)
	require.NoError(t, err)
	now.Add(int64(24*time.Hour + time.Second))
	_, err = client.GetBatchStatus(context.Background(), resp.ID)
	assert.ErrorIs(t, err, dynamo.ErrNotFound)
}

func TestCancelStopsWaitBatch(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t, dynamo.WithRealClock())
	posted := mustPost(t, client) // never completes: nothing drives its tasks

	polled := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runCall(func() error {
		_, err := client.WaitBatch(ctx, posted.ID,
			dynamo.WithPollInterval(stall),
			dynamo.WithBatchProgress(func(st *dynamo.BatchStatus) {
				assert.False(t, st.Completed)
				once.Do(func() { close(polled) })
			}))
		return err
	})
	if !within(t, polled, waitLong, "the first poll") {
		return
	}
	cancelAndWait(t, cancel, ch)
	assert.Equal(t, 1, requestsTo(srv, http.MethodGet))
}
