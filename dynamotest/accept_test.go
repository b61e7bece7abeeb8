package dynamotest_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestOnAcceptOncePerAcceptedPost(t *testing.T) {
	t.Parallel()
	opt, accepts := onAccept()
	h := newHarness(t, opt)
	tmpl := templatePart([]byte("dap"))

	cases := []struct {
		name   string
		post   func() (int, []byte)
		batch  bool
		accept bool
	}{
		{"batch JSON", func() (int, []byte) { return h.postJSON(jsonBatch(2)) }, true, true},
		{"batch multipart", func() (int, []byte) {
			return h.postForm("/v1/batch", tmpl, jsonPart("data", `{"tasks":[{"params":{"id":"1"}}]}`))
		}, true, true},
		{"task JSON", func() (int, []byte) { return h.postTaskJSON(salesforceTask) }, false, true},
		{"task multipart", func() (int, []byte) { return h.postForm("/v1/task", tmpl, jsonPart("data", `{}`)) }, false, true},
		{"refused batch", func() (int, []byte) { return h.postJSON(`{"tasks":[]}`) }, true, false},
		{"refused task", func() (int, []byte) { return h.postTaskJSON(`{}`) }, false, false},
		{"unauthorised", func() (int, []byte) {
			resp, b := h.do(mustNewRequest(t, http.MethodPost, h.s.URL+"/v1/batch"))
			return resp.StatusCode, b
		}, true, false},
	}
	for _, tc := range cases {
		status, _ := tc.post()
		if !tc.accept {
			assert.NotEqual(t, http.StatusAccepted, status, tc.name)
			continue
		}
		require.Equal(t, http.StatusAccepted, status, tc.name)
		a := receive(t, accepts)
		if tc.batch {
			require.NotNil(t, a.Batch, tc.name)
			assert.Nil(t, a.Task, tc.name)
			got, ok := h.s.Batch(a.Batch.ID)
			assert.True(t, ok, tc.name)
			assert.Equal(t, got, *a.Batch, tc.name)
		} else {
			require.NotNil(t, a.Task, tc.name)
			assert.Nil(t, a.Batch, tc.name)
			got, ok := h.s.Task(a.Task.ID)
			assert.True(t, ok, tc.name)
			assert.Equal(t, got, *a.Task, tc.name)
		}
	}
	// A fault that answers in place of the fake accepts nothing; one that drops the
	// answer after handling still accepts.
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable}, dynamotest.Fault{DropAfterAccept: true})
	status, _ := h.postJSON(jsonBatch(1))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	_, err := h.hc.Do(h.newRequest(context.Background(), http.MethodPost, h.s.URL+"/v1/batch", strings.NewReader(jsonBatch(3)), "application/json"))
	assert.Error(t, err)
	assert.Len(t, receive(t, accepts).Batch.Tasks, 3)

	h.s.SeedBatch(dynamotest.BatchSeed{Tasks: make([]dynamotest.BatchTaskSeed, 1)})
	h.s.SeedTask(dynamotest.TaskSeed{})
	select {
	case a := <-accepts:
		t.Fatalf("unexpected accept %+v", a)
	default:
	}
}

func TestOnAcceptRunsBeforeTheAnswerWithoutLocks(t *testing.T) {
	t.Parallel()
	var (
		h     *harness
		mu    sync.Mutex
		order []string
	)
	first := func(a dynamotest.Accepted) {
		// The post is stored, not yet answered, and the Server is free to use.
		reqs := h.s.Requests()
		assert.Zero(t, reqs[len(reqs)-1].Status, "no answer yet")
		if a.Batch != nil {
			h.s.CompleteBatchTask(a.Batch.ID, a.Batch.Tasks[0].ID, dynamotest.ResultFile{ID: "r", Content: []byte("x")})
		} else {
			h.s.StartTask(a.Task.ID)
		}
		h.s.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{})
		mu.Lock()
		order = append(order, "first")
		mu.Unlock()
	}
	second := func(a dynamotest.Accepted) {
		mu.Lock()
		order = append(order, "second")
		mu.Unlock()
		if a.Batch != nil {
			assert.Equal(t, dynamotest.StageDone, a.Batch.Tasks[0].Stage, "each callback gets a snapshot of its own, taken when it is called")
		} else {
			assert.Equal(t, dynamotest.StageRunning, a.Task.Stage)
		}
	}
	h = newHarness(t, dynamotest.WithOnAccept(first), dynamotest.WithOnAccept(second))
	a := h.mustPost(1)
	got, _ := h.s.Batch(a.ID)
	assert.Equal(t, dynamotest.StageDone, got.Tasks[0].Stage)
	h.mustPostTask(standaloneTask)
	assert.Equal(t, []string{"first", "second", "first", "second"}, order)
}
