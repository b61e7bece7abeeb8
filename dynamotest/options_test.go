package dynamotest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// panicMessage returns what f panics with, or "" if it does not panic.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestOptionsPanicOnInvalidValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		option string
		call   func()
	}{
		{"WithAutoComplete", func() { dynamotest.WithAutoComplete(-1) }},
		{"WithClock", func() { dynamotest.WithClock(nil) }},
		{"WithCredentials", func() { dynamotest.WithCredentials("", "") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("tenant", "") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("", "key") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("tenant", "key\r\nX-Other: 1") }},
		{"WithResultFiles", func() { dynamotest.WithResultFiles("Profile", "") }},
		{"WithResultFiles", func() { dynamotest.WithResultFiles("Profile", "Profile") }},
		{"WithUsageLimits", func() { dynamotest.WithUsageLimits(-1, 10) }},
		{"WithUsageLimits", func() { dynamotest.WithUsageLimits(10, -1) }},
		{"WithOnAccept", func() { dynamotest.WithOnAccept(nil) }},
	}
	for _, tc := range cases {
		msg := panicMessage(tc.call)
		assert.True(t, strings.HasPrefix(msg, "dynamotest: "+tc.option+": "), "%s: panic %q", tc.option, msg)
	}
}

func TestOptionsValidValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t,
		nil, // skipped
		dynamotest.WithAutoComplete(0),
		dynamotest.WithResultFiles(),
		dynamotest.WithUsageLimits(0, 0),
		dynamotest.WithCredentials("tenant", "key"),
	)
	assert.Equal(t, "tenant", h.s.TenantID)
	assert.Equal(t, "key", h.s.APIKey)
	a := h.mustPostTask(standaloneTask)
	assert.Equal(t, usageCount{Term: 1, TermMax: 0}, a.Usage.API)
	got, _ := h.s.Task(a.TaskID)
	assert.Equal(t, dynamotest.StagePosted, got.Stage, "zero means never auto-complete")
}

func TestReset(t *testing.T) {
	t.Parallel()
	clock := newClock()
	opt, accepts := onAccept()
	h := newHarness(t, opt, dynamotest.WithClock(clock.Now), dynamotest.WithAutoComplete(time.Minute), dynamotest.WithCredentials("tenant", "key"))
	a := h.mustPost(1)
	h.mustPostTask(standaloneTask)
	h.s.SeedBatch(dynamotest.BatchSeed{Tasks: make([]dynamotest.BatchTaskSeed, 1)})
	h.s.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "r", Content: []byte("x")})
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	h.download(resultURLs(t, ts)[0])
	receive(t, accepts)
	receive(t, accepts)

	url, storageURL := h.s.URL, h.s.StorageURL
	h.s.Reset()
	assert.Empty(t, h.s.Batches())
	assert.Empty(t, h.s.Tasks())
	assert.Empty(t, h.s.Requests())
	assert.Empty(t, h.s.StorageRequests())
	_, ok := h.s.Batch(a.ID)
	assert.False(t, ok)
	status, _ := h.get("/v1/batch/" + a.ID)
	assert.Equal(t, http.StatusNotFound, status)

	// The configuration stays: URLs, credentials, callbacks, clock and auto-completion.
	assert.Equal(t, url, h.s.URL)
	assert.Equal(t, storageURL, h.s.StorageURL)
	assert.Equal(t, "key", h.s.APIKey)
	b := h.mustPost(1) // the queued 503 is gone
	assert.Equal(t, b.ID, receive(t, accepts).Batch.ID)
	assert.Equal(t, 1, h.mustPostTask(standaloneTask).Usage.API.Term, "usage counts again from zero")
	clock.Advance(time.Minute)
	got, _ := h.s.Batch(b.ID)
	assert.Equal(t, dynamotest.StageDone, got.Tasks[0].Stage)
	require.Len(t, h.s.Requests(), 3)
}
