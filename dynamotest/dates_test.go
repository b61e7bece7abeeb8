package dynamotest_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// TestDates checks every date field of both APIs against the rule of Java's
// Instant.toString, the vendor's examples included.
func TestDates(t *testing.T) {
	t.Parallel()
	helsinki := time.FixedZone("EET", 2*60*60)
	cases := []struct {
		name string
		at   time.Time
		want string
	}{
		{"whole second", time.Date(2022, 2, 10, 11, 4, 0, 0, time.UTC), "2022-02-10T11:04:00Z"},
		{"milliseconds", time.Date(2022, 2, 10, 11, 3, 30, 100_000_000, time.UTC), "2022-02-10T11:03:30.100Z"},
		{"one millisecond", time.Date(2022, 2, 10, 11, 3, 30, 1_000_000, time.UTC), "2022-02-10T11:03:30.001Z"},
		{"microseconds", time.Date(2022, 2, 10, 11, 3, 39, 616_069_000, time.UTC), "2022-02-10T11:03:39.616069Z"},
		{"microseconds ending in zeros", time.Date(2022, 2, 10, 11, 3, 39, 616_100_000, time.UTC), "2022-02-10T11:03:39.616100Z"},
		{"nanoseconds", time.Date(2023, 3, 7, 10, 26, 35, 405_631_389, time.UTC), "2023-03-07T10:26:35.405631389Z"},
		{"one nanosecond", time.Date(2023, 3, 7, 10, 26, 35, 1, time.UTC), "2023-03-07T10:26:35.000000001Z"},
		{"other zone", time.Date(2022, 2, 10, 13, 3, 39, 0, helsinki), "2022-02-10T11:03:39Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, stamp(tc.at), "the test's own rule")
			h := newHarness(t, dynamotest.WithClock(func() time.Time { return tc.at }))
			a := h.mustPost(2)
			h.s.StartBatchTask(a.ID, a.Tasks[0])
			h.s.CompleteBatch(a.ID)
			_, bs := h.get("/v1/batch/" + a.ID)
			assert.Equal(t, tc.want, bs["postDateTime"])
			assert.Equal(t, tc.want, bs["completedDateTime"])
			for _, id := range a.Tasks {
				_, ts := h.get("/v1/batch/" + a.ID + "/" + id)
				assert.Equal(t, tc.want, ts["startDateTime"])
				assert.Equal(t, tc.want, ts["endDateTime"])
			}

			task := h.mustPostTask(standaloneTask)
			h.s.CompleteTask(task.TaskID)
			_, st := h.get("/v1/task/" + task.TaskID)
			assert.Equal(t, tc.want, st["startDateTime"])
			assert.Equal(t, tc.want, st["endDateTime"])

			parsed, err := time.Parse(time.RFC3339Nano, tc.want)
			require.NoError(t, err)
			assert.True(t, parsed.Equal(tc.at), "the written date is the instant")
		})
	}
}

// TestDatesThroughTheSDK reads each width of date back through the SDK, which must
// accept any RFC 3339 form.
func TestDatesThroughTheSDK(t *testing.T) {
	t.Parallel()
	for _, ns := range []int{0, 100_000_000, 616_069_000, 405_631_389} {
		at := time.Date(2022, 2, 10, 11, 3, 30, ns, time.UTC)
		s := dynamotest.NewServer(dynamotest.WithClock(func() time.Time { return at }))
		defer s.Close()
		id, _ := s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Stage: dynamotest.StageDone}}})
		c := s.Client()
		st, err := c.GetBatchStatus(context.Background(), id)
		require.NoError(t, err, strconv.Itoa(ns))
		assert.True(t, st.PostDateTime.Time.Equal(at), "%d: %s", ns, st.PostDateTime.Raw)
		assert.True(t, st.CompletedDateTime.Time.Equal(at), "%d: %s", ns, st.CompletedDateTime.Raw)
		c.CloseIdleConnections()
	}
}

// TestHead answers HEAD on every GET route of both hosts as GET, without the body.
func TestHead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("%PDF-1.7")})
	task := h.mustPostTask(standaloneTask)
	h.s.CompleteTask(task.TaskID, dynamotest.ResultFile{ID: "Doc", Content: []byte("hello")})
	_, bts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	_, st := h.get("/v1/task/" + task.TaskID)

	paths := []string{
		"/v1/batch/" + a.ID,
		"/v1/batch/" + a.ID + "/" + a.Tasks[0],
		"/v1/task/" + task.TaskID,
		"/v1/batch/nope",     // an unknown batch: 404 alike
		"/v1/task/t-unknown", // an unknown task: 404 alike
	}
	for _, p := range paths {
		get, getBody := h.send(http.MethodGet, p, "", nil)
		head, headBody := h.send(http.MethodHead, p, "", nil)
		wantHeadAsGet(t, p, get, getBody, head, headBody)
	}
	for _, u := range append(resultURLs(t, bts), resultURLs(t, st)...) {
		get, getBody := h.do(mustNewRequest(t, http.MethodGet, u))
		head, headBody := h.do(mustNewRequest(t, http.MethodHead, u))
		wantHeadAsGet(t, "storage", get, getBody, head, headBody)
		require.Equal(t, http.StatusOK, head.StatusCode)
	}

	// A HEAD goes through the route's faults, as its GET would.
	h.s.Inject(dynamotest.RouteBatchStatus, dynamotest.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"3"}}})
	resp, _ := h.send(http.MethodHead, "/v1/batch/"+a.ID, "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))

	var heads int
	for _, r := range h.s.Requests() {
		if r.Method == http.MethodHead {
			heads++
		}
	}
	assert.Equal(t, len(paths)+1, heads, "every HEAD is recorded as such")
}

func wantHeadAsGet(t *testing.T, name string, get *http.Response, getBody []byte, head *http.Response, headBody []byte) {
	t.Helper()
	assert.Equal(t, get.StatusCode, head.StatusCode, name)
	assert.NotEmpty(t, getBody, name)
	assert.Empty(t, headBody, name)
	assert.Equal(t, strconv.Itoa(len(getBody)), head.Header.Get("Content-Length"), name+": Content-Length as GET would send")
	assert.Equal(t, int64(len(getBody)), head.ContentLength, name)
	assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), name)
	assert.Empty(t, head.Header.Get("Allow"), name)
}
