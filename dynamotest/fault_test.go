package dynamotest_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestFaultHold(t *testing.T) {
	t.Parallel()
	opt, accepts := onAccept()
	h := newHarness(t, opt)
	hold := make(chan struct{})
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hold: hold, Header: http.Header{"X-Held": {"yes"}}})
	type answer struct {
		resp *http.Response
		body []byte
	}
	answers := make(chan answer, 1)
	go func() {
		resp, body := h.send(http.MethodPost, "/v1/batch", "application/json", strings.NewReader(jsonBatch(2)))
		answers <- answer{resp, body}
	}()
	a := receive(t, accepts)
	_, ok := h.s.Batch(a.Batch.ID)
	assert.True(t, ok, "a held post is stored before the answer")
	select {
	case <-answers:
		t.Fatal("answered while held")
	default:
	}
	close(hold)
	got := receive(t, answers)
	assert.Equal(t, http.StatusAccepted, got.resp.StatusCode)
	assert.Equal(t, "yes", got.resp.Header.Get("X-Held"))
	assert.Contains(t, string(got.body), a.Batch.ID)
}

func TestFaultHoldEndedByClient(t *testing.T) {
	t.Parallel()
	opt, accepts := onAccept()
	h := newHarness(t, opt)
	h.s.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Hold: make(chan struct{})})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 1)
	go func() {
		resp, err := h.hc.Do(h.newRequest(ctx, http.MethodPost, h.s.URL+"/v1/task", strings.NewReader(salesforceTask), "application/json"))
		if resp != nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	a := receive(t, accepts)
	cancel()
	assert.Error(t, receive(t, errs))
	h.s.Close() // waits for the held handler
	_, ok := h.s.Task(a.Task.ID)
	assert.True(t, ok, "the task was created although no answer came")
	reqs := h.s.Requests()
	require.Len(t, reqs, 1)
	assert.Zero(t, reqs[0].Status)
}

func TestFaultSuccessStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		route       dynamotest.Route
		post        string
		success     int
		want        int
		wantsAnswer bool
	}{
		{"batch 200", dynamotest.RoutePostBatch, jsonBatch(1), 200, 200, true},
		{"batch 201", dynamotest.RoutePostBatch, jsonBatch(1), 201, 201, true},
		{"batch 204", dynamotest.RoutePostBatch, jsonBatch(1), 204, 204, false},
		{"task 200", dynamotest.RoutePostTask, standaloneTask, 200, 200, true},
		{"refusal keeps its code", dynamotest.RoutePostBatch, `{}`, 201, 400, false},
	}
	for _, tc := range cases {
		h := newHarness(t)
		h.s.Inject(tc.route, dynamotest.Fault{SuccessStatus: tc.success})
		path := "/v1/batch"
		if tc.route == dynamotest.RoutePostTask {
			path = "/v1/task"
		}
		resp, body := h.send(http.MethodPost, path, "application/json", strings.NewReader(tc.post))
		assert.Equal(t, tc.want, resp.StatusCode, tc.name)
		assert.Equal(t, tc.wantsAnswer, bytes.Contains(body, []byte(`"message":"Success"`)), tc.name)
		assert.Equal(t, tc.want, h.s.Requests()[0].Status, tc.name)
		assert.Equal(t, tc.want != 400, len(h.s.Batches())+len(h.s.Tasks()) == 1, tc.name)
	}
}

func TestInjectPanicsOnMisuse(t *testing.T) {
	t.Parallel()
	s := dynamotest.NewServer()
	defer s.Close()
	cases := []struct {
		name  string
		route dynamotest.Route
		fault dynamotest.Fault
	}{
		{"unknown route", "GET /nowhere", dynamotest.Fault{}},
		{"negative delay", dynamotest.RoutePostBatch, dynamotest.Fault{Delay: -1}},
		{"status out of range", dynamotest.RoutePostBatch, dynamotest.Fault{Status: 42}},
		{"success status not 2xx", dynamotest.RoutePostTask, dynamotest.Fault{SuccessStatus: 302}},
		{"status with success status", dynamotest.RoutePostTask, dynamotest.Fault{Status: 503, SuccessStatus: 200}},
		{"body without status", dynamotest.RouteGetTask, dynamotest.Fault{Body: "x"}},
		{"hang with hold", dynamotest.RouteDownloadTask, dynamotest.Fault{Hang: true, Hold: make(chan struct{})}},
		{"hang with drop after accept", dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true, DropAfterAccept: true}},
	}
	for _, tc := range cases {
		msg := panicMessage(func() { s.Inject(tc.route, tc.fault) })
		assert.True(t, strings.HasPrefix(msg, "dynamotest: Inject"), "%s: panic %q", tc.name, msg)
	}
	status := func() int {
		resp, err := http.Post(s.URL+"/v1/batch", "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, status(), "a refused Inject queues nothing")
}
