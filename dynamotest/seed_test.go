package dynamotest_test

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestSeedBatch(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	id, taskIDs := h.s.SeedBatch(dynamotest.BatchSeed{
		Template:    "3242374783",
		Integration: map[string]any{"type": "Salesforce", "sessionID": "s", "serverURL": "u"},
		Tasks: []dynamotest.BatchTaskSeed{
			{Params: map[string]any{"id": "1111", "n": 3}, Stage: dynamotest.StageDone, Results: []dynamotest.ResultFile{
				{ID: "Profile", Content: []byte("%PDF profile")}, {ID: "Summary", Content: []byte("%PDF summary")},
			}},
			{Stage: dynamotest.StageFailed, Failure: "template error"},
			{Stage: dynamotest.StageRunning},
			{Stage: dynamotest.StageQueued},
			{},
		},
	})
	assert.Regexp(t, batchIDRE, id)
	require.Len(t, taskIDs, 5)
	for _, tid := range taskIDs {
		assert.Regexp(t, uuidRE, tid)
	}
	assert.Empty(t, h.s.Requests(), "seeding is not a post")

	_, bs := h.get("/v1/batch/" + id)
	assert.Equal(t, "Started", bs["statusMessage"])
	assert.Equal(t, false, bs["completed"])
	assert.Equal(t, true, bs["errors"])
	assert.Equal(t, stamp(clock.Now()), bs["postDateTime"])

	cases := []struct {
		message   string
		completed bool
		errors    bool
		started   bool
		results   int
	}{
		{"Completed", true, false, true, 2},
		{"template error", true, true, true, 0},
		{"Running", false, false, true, 0},
		{"Queued", false, false, false, 0},
		{"Queued", false, false, false, 0},
	}
	for i, tc := range cases {
		_, ts := h.get("/v1/batch/" + id + "/" + taskIDs[i])
		assert.Equal(t, tc.message, ts["statusMessage"], "task %d", i)
		assert.Equal(t, tc.completed, ts["completed"], "task %d", i)
		assert.Equal(t, tc.errors, ts["errors"], "task %d", i)
		assert.Equal(t, tc.started, ts["startDateTime"] != nil, "task %d", i)
		assert.Len(t, ts["resultList"], tc.results, "task %d", i)
	}
	_, ts := h.get("/v1/batch/" + id + "/" + taskIDs[0])
	for i, want := range []string{"%PDF profile", "%PDF summary"} {
		status, body := h.download(resultURLs(t, ts)[i])
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, want, string(body))
	}

	b, ok := h.s.Batch(id)
	require.True(t, ok)
	assert.Equal(t, "3242374783", b.Template)
	assert.Equal(t, map[string]any{"id": "1111", "n": float64(3)}, b.Tasks[0].Params, "params as posted JSON decodes")
	assert.Equal(t, map[string]any{"id": "seed-2"}, b.Tasks[1].Params)
	assert.Equal(t, []string{"SEVERE template error"}, b.Tasks[1].Log)
	assert.Equal(t, dynamotest.StageFailed, b.Tasks[1].Stage)
	assert.Equal(t, dynamotest.StagePosted, b.Tasks[4].Stage)

	// Seeded tasks are driven like posted ones.
	h.s.CompleteBatch(id)
	_, bs = h.get("/v1/batch/" + id)
	assert.Equal(t, "Completed", bs["statusMessage"])
}

func TestSeedAutoCompleteAndExpiry(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now), dynamotest.WithAutoComplete(time.Minute))
	id, taskIDs := h.s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{}, {Stage: dynamotest.StageQueued}}})
	task := h.s.SeedTask(dynamotest.TaskSeed{})
	clock.Advance(time.Minute)
	b, _ := h.s.Batch(id)
	assert.Equal(t, dynamotest.StageDone, b.Tasks[0].Stage, "a task seeded as posted is auto-completed")
	assert.NotEqual(t, dynamotest.StageDone, b.Tasks[1].Stage, "a task seeded at another stage counts as driven")
	st, _ := h.s.Task(task)
	assert.Equal(t, dynamotest.StageDone, st.Stage)

	old := clock.Now().Add(-24*time.Hour - time.Second)
	expired, _ := h.s.SeedBatch(dynamotest.BatchSeed{PostedAt: old, Tasks: make([]dynamotest.BatchTaskSeed, 1)})
	status, _ := h.get("/v1/batch/" + expired)
	assert.Equal(t, http.StatusNotFound, status)
	oldTask := h.s.SeedTask(dynamotest.TaskSeed{PostedAt: clock.Now().Add(-73 * time.Hour)})
	status, _ = h.get("/v1/task/" + oldTask)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = h.get("/v1/batch/" + id + "/" + taskIDs[0])
	assert.Equal(t, http.StatusOK, status)
}

func TestSeedTask(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	posted := clock.Now().Add(-time.Hour)
	running := h.s.SeedTask(dynamotest.TaskSeed{
		Template:    "069000000000001",
		Integration: map[string]any{"type": "Salesforce", "sessionID": "s", "serverURL": "u"},
		PostedAt:    posted,
		Stage:       dynamotest.StageRunning,
	})
	assert.Regexp(t, taskIDRE, running)
	_, ts := h.get("/v1/task/" + running)
	assert.Equal(t, "Running", ts["statusMessage"])
	assert.Equal(t, stamp(posted), ts["startDateTime"])
	got, _ := h.s.Task(running)
	assert.Equal(t, map[string]any{"id": "seed-1"}, got.Params)
	assert.Equal(t, posted, got.PostedAt)

	ready := h.s.SeedTask(dynamotest.TaskSeed{
		Params: map[string]any{"greeting": "hi"}, Stage: dynamotest.StageDone,
		Results: []dynamotest.ResultFile{{ID: "Offer", Content: []byte("pdf")}},
	})
	_, ts = h.get("/v1/task/" + ready)
	assert.Equal(t, "Ready", ts["statusMessage"])
	status, body := h.download(resultURLs(t, ts)[0])
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "pdf", string(body))

	for stage, want := range map[dynamotest.Stage]string{
		dynamotest.StagePosted: "Received", dynamotest.StageQueued: "Queued", dynamotest.StageFailed: "Failed",
	} {
		id := h.s.SeedTask(dynamotest.TaskSeed{Stage: stage})
		_, ts = h.get("/v1/task/" + id)
		assert.Equal(t, want, ts["statusMessage"], stage.String())
	}
	assert.Equal(t, 1, h.mustPostTask(standaloneTask).Usage.API.Term, "seeding counts no usage")
}

func TestSeedPanicsOnMisuse(t *testing.T) {
	t.Parallel()
	s := dynamotest.NewServer()
	defer s.Close()
	tooMany := make([]dynamotest.BatchTaskSeed, 1001)
	cases := []struct {
		name   string
		method string
		seed   func()
	}{
		{"no tasks", "SeedBatch", func() { s.SeedBatch(dynamotest.BatchSeed{}) }},
		{"too many tasks", "SeedBatch", func() { s.SeedBatch(dynamotest.BatchSeed{Tasks: tooMany}) }},
		{"params without id", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Params: map[string]any{"x": 1}}}})
		}},
		{"numeric id", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Params: map[string]any{"id": 1}}}})
		}},
		{"params not JSON", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Params: map[string]any{"id": "1", "x": math.Inf(1)}}}})
		}},
		{"unknown stage", "SeedBatch", func() { s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Stage: 99}}}) }},
		{"failure when running", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Stage: dynamotest.StageRunning, Failure: "x"}}})
		}},
		{"results when failed", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Stage: dynamotest.StageFailed, Results: []dynamotest.ResultFile{{ID: "a"}}}}})
		}},
		{"empty result ID", "SeedBatch", func() {
			s.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{{Stage: dynamotest.StageDone, Results: []dynamotest.ResultFile{{}}}}})
		}},
		{"integration without id", "SeedTask", func() {
			s.SeedTask(dynamotest.TaskSeed{Integration: map[string]any{"type": "Salesforce"}, Params: map[string]any{}})
		}},
		{"result ID twice", "SeedTask", func() {
			s.SeedTask(dynamotest.TaskSeed{Stage: dynamotest.StageDone, Results: []dynamotest.ResultFile{{ID: "a"}, {ID: "a"}}})
		}},
		{"integration not JSON", "SeedTask", func() {
			s.SeedTask(dynamotest.TaskSeed{Integration: map[string]any{"f": func() {}}})
		}},
	}
	for _, tc := range cases {
		msg := panicMessage(tc.seed)
		assert.True(t, strings.HasPrefix(msg, "dynamotest: "+tc.method+": "), "%s: panic %q", tc.name, msg)
	}
	assert.Empty(t, s.Batches(), "a refused seed stores nothing")
	assert.Empty(t, s.Tasks())
	assert.Equal(t, "Stage(99)", dynamotest.Stage(99).String())
}
