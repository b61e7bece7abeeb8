package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestPostBulkSplitsIntoChunksOfAtMostMaxTasks(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	b := &dynamo.Batch{Template: "0691x000002AbCdQAK", Tasks: records(2500)}

	done := make(map[int]dynamo.ChunkResult)
	rep, err := client.PostBulk(context.Background(), b, dynamo.WithChunkDone(func(r dynamo.ChunkResult) { done[r.Index] = r }))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 3, rep.Count(dynamo.ChunkAccepted))
	assert.Zero(t, rep.Count(dynamo.ChunkSkipped)+rep.Count(dynamo.ChunkFailed)+rep.Count(dynamo.ChunkUnknown)+rep.Count(dynamo.ChunkNotStarted))

	require.Len(t, rep.Chunks, 3)
	wantRanges := [][2]int{{0, 1000}, {1000, 2000}, {2000, 2500}}
	batches := make(map[string]dynamotest.Batch)
	for _, fb := range srv.Batches() {
		batches[fb.ID] = fb
	}
	require.Len(t, batches, 3)
	for i, ch := range rep.Chunks {
		assert.Equal(t, i, ch.Index)
		assert.Equal(t, wantRanges[i], [2]int{ch.First, ch.End}, "chunk %d range", i)
		assert.Equal(t, dynamo.ChunkAccepted, ch.State)
		fb, ok := batches[ch.BatchID]
		require.True(t, ok, "chunk %d's batch %q is on the server", i, ch.BatchID)
		assert.Equal(t, "0691x000002AbCdQAK", fb.Template)
		require.Len(t, fb.Tasks, ch.End-ch.First)
		assert.Empty(t, ch.TaskIDs, "the report keeps no task ID")
		assert.Equal(t, ch.BatchID, done[i].BatchID)
		require.Len(t, done[i].TaskIDs, ch.End-ch.First, "the callback gets the task IDs")
		for k, task := range fb.Tasks {
			assert.Equal(t, recordID(ch.First+k), task.Params["id"], "chunk %d holds its records in order", i)
			assert.Equal(t, task.ID, done[i].TaskIDs[k])
		}
	}
	requireAcceptedOnce(t, srv, 2500)
}

// bulkInflight counts the requests in flight through it and keeps the peak.
type bulkInflight struct {
	base      http.RoundTripper
	cur, peak atomic.Int32
}

func (c *bulkInflight) RoundTrip(req *http.Request) (*http.Response, error) {
	n := c.cur.Add(1)
	defer c.cur.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return c.base.RoundTrip(req)
}

// CloseIdleConnections lets the client close the base transport's idle
// connections.
func (c *bulkInflight) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func TestPostBulkBoundsConcurrencyAndSerializesCallbacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []dynamo.BulkOption
		want int32
	}{
		{"default", nil, dynamo.DefaultBulkConcurrencyForTest},
		{"three", []dynamo.BulkOption{dynamo.WithBulkConcurrency(3)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			transport := &bulkInflight{base: http.DefaultTransport.(*http.Transport).Clone()}
			// The fake holds every post it accepts until as many as allowed
			// are in flight at once: a job that posted more at once would
			// show it, and one that posted one at a time would never end.
			full := make(chan struct{})
			var accepted atomic.Int32
			srv := dynamotest.NewServer(dynamotest.WithCredentials(testTenantID, testAPIKey),
				dynamotest.WithOnAccept(func(dynamotest.Accepted) {
					if accepted.Add(1) == tc.want {
						close(full)
					}
				}))
			t.Cleanup(srv.Close)
			client, _ := newTestClient(t, srv.URL, dynamo.WithHTTPClient(&http.Client{Transport: transport}))
			const chunks = 9
			for range chunks {
				srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hold: full})
			}
			var inCallback, overlapped atomic.Bool
			var calls atomic.Int32
			opts := append([]dynamo.BulkOption{
				dynamo.WithChunkSize(10),
				dynamo.WithChunkDone(func(dynamo.ChunkResult) {
					if inCallback.Swap(true) {
						overlapped.Store(true)
					}
					calls.Add(1)
					runtime.Gosched() // room for a concurrent call to show
					inCallback.Store(false)
				}),
			}, tc.opts...)

			rep, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(chunks * 10)}, opts...)
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			assert.Equal(t, chunks, rep.Count(dynamo.ChunkAccepted))
			assert.LessOrEqual(t, transport.peak.Load(), tc.want, "posts in flight at once")
			assert.Equal(t, tc.want, transport.peak.Load(), "posts overlap, up to the bound")
			assert.Equal(t, int32(chunks), calls.Load(), "one callback per chunk")
			assert.False(t, overlapped.Load(), "callbacks never run concurrently")
			requireAcceptedOnce(t, srv, chunks*10)
		})
	}
}

func TestPostBulkValidatesEveryChunkBeforePosting(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	tasks := records(2600)
	tasks[7].Params["id"] = 42
	tasks[2503] = dynamo.Task{Params: dynamo.Params{"name": "no id"}}
	b := &dynamo.Batch{Template: "tmpl", Tasks: tasks, Integration: &dynamo.Integration{Type: "Salesforce"}}

	rep, err := client.PostBulk(context.Background(), b)
	require.Error(t, err)
	assert.Nil(t, rep)
	var verr *dynamo.ValidationError
	require.ErrorAs(t, err, &verr)
	fields := make([]string, len(verr.Problems))
	for i, p := range verr.Problems {
		fields[i] = p.Field
	}
	// Task problems carry the record's index in the whole job; the batch's own
	// problems, the same for every chunk, are listed once.
	assert.ElementsMatch(t, []string{"tasks[7].params.id", "tasks[2503].params.id", "integration.sessionID", "integration.serverURL"}, fields)
	assert.Contains(t, err.Error(), "tasks[2503].params.id: is required")
	assert.Empty(t, srv.Requests(), "nothing is sent")
}

func TestPostBulkRefusesInvalidOptionsAndInput(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	ok := &dynamo.Batch{Template: "tmpl", Tasks: records(3)}
	for _, tc := range []struct {
		name string
		b    *dynamo.Batch
		opts []dynamo.BulkOption
		want string
	}{
		{"chunk size 0", ok, []dynamo.BulkOption{dynamo.WithChunkSize(0)}, "WithChunkSize: 0"},
		{"chunk size over the maximum", ok, []dynamo.BulkOption{dynamo.WithChunkSize(dynamo.MaxTasksPerBatch + 1)}, "WithChunkSize: 1001"},
		{"concurrency 0", ok, []dynamo.BulkOption{dynamo.WithBulkConcurrency(0)}, "WithBulkConcurrency: 0"},
		{"empty journal path", ok, []dynamo.BulkOption{dynamo.WithJournal("")}, "WithJournal: empty path"},
		{"nil batch", nil, nil, "batch: is nil"},
		{"no tasks", &dynamo.Batch{Template: "tmpl"}, nil, "tasks: at least one task is required"},
		{"no template", &dynamo.Batch{Tasks: records(3)}, nil, "template: is required"},
		{"journal is a directory", ok, []dynamo.BulkOption{dynamo.WithJournal(t.TempDir())}, "opening: is a directory"},
		{"single-use template", &dynamo.Batch{Tasks: records(3)},
			[]dynamo.BulkOption{dynamo.WithBulkTemplate(dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP")))},
			"a template from TemplateFromReader can be read only once"},
		{"reference and embedded template", ok,
			[]dynamo.BulkOption{dynamo.WithBulkTemplate(dynamo.TemplateFromBytes("t.dap", []byte("DAP")))},
			"template: must be empty when the template is embedded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := client.PostBulk(context.Background(), tc.b, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, rep)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	assert.Empty(t, srv.Requests(), "nothing is sent")
}

func TestPostBulkEmbedsTheTemplateInEveryChunk(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	dap := []byte("PK\x03\x04 a month-end template")
	sum := sha256.Sum256(dap)
	tasks := records(250)
	for i := range tasks {
		tasks[i].PartParams = []dynamo.PartParam{{PartName: "period", ParamName: "period"}}
	}
	b := &dynamo.Batch{Tasks: tasks, Parts: []dynamo.Part{{Name: "period", Value: map[string]any{"month": "2024-01"}}}}

	rep, err := client.PostBulk(context.Background(), b,
		dynamo.WithChunkSize(100), dynamo.WithBulkTemplate(dynamo.TemplateFromBytes("month-end.dap", dap)))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 3, rep.Count(dynamo.ChunkAccepted))

	batches := srv.Batches()
	require.Len(t, batches, 3)
	for _, fb := range batches {
		require.NotNil(t, fb.EmbeddedTemplate, "batch %s has an embedded template", fb.ID)
		assert.Empty(t, fb.Template)
		assert.Equal(t, "month-end.dap", fb.EmbeddedTemplate.FileName)
		assert.Equal(t, int64(len(dap)), fb.EmbeddedTemplate.Size)
		assert.Equal(t, hex.EncodeToString(sum[:]), fb.EmbeddedTemplate.SHA256)
		for _, task := range fb.Tasks {
			assert.Equal(t, map[string]any{"month": "2024-01"}, task.Params["period"])
		}
	}
	for _, r := range srv.Requests() {
		assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data;"), "posted as multipart: %s", r.Header.Get("Content-Type"))
	}
	requireAcceptedOnce(t, srv, 250)
}

func TestPostBulkReportsFailedChunksAndGoesOn(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t, dynamo.WithMaxRetries(0))
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	var results []dynamo.ChunkResult

	rep, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(250)},
		dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1),
		dynamo.WithChunkDone(func(r dynamo.ChunkResult) { results = append(results, r) }))
	require.Error(t, err, "a chunk that is not accepted makes an error")
	assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "no chunk's outcome is unknown")
	assert.Equal(t, "dynamo: 1 of 3 chunks not accepted (1 failed)\n"+rep.Err().Error(), err.Error())
	assert.Equal(t, 2, rep.Count(dynamo.ChunkAccepted), "a chunk's failure does not stop the job")
	assert.Equal(t, 1, rep.Count(dynamo.ChunkFailed))
	require.Len(t, results, 3)

	first := rep.Chunks[0]
	var apiErr *dynamo.APIError
	require.ErrorAs(t, first.Err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.NotErrorIs(t, first.Err, dynamo.ErrOutcomeUnknown)
	assert.Empty(t, first.BatchID)

	summary := rep.Err()
	require.Error(t, summary)
	assert.ErrorAs(t, summary, &apiErr)
	assert.True(t, strings.HasPrefix(summary.Error(), "records [0, 100): "), summary.Error())
	assert.Empty(t, results[0].TaskIDs, "a failed chunk has no task ID")

	counts := acceptedCounts(srv)
	assert.Len(t, counts, 150)
	assert.Zero(t, counts[recordID(0)])
}

func TestPostBulkStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	rep, err := client.PostBulk(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(500)},
		dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1),
		dynamo.WithChunkDone(func(r dynamo.ChunkResult) {
			if r.Index == 0 {
				cancel()
			}
		}))
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep, "the report so far comes with the error")
	assert.Equal(t, 1, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 4, rep.Count(dynamo.ChunkNotStarted))
	summary := rep.Err()
	require.ErrorIs(t, summary, context.Canceled)
	assert.Contains(t, summary.Error(), "records [100, 500) (4 chunks): dynamo: not posted, the job stopped first")
	assert.Len(t, srv.Batches(), 1)
}

// ExampleClient_PostBulk posts a month-end job of 2,500 records, more than
// one batch holds, with a journal that makes a second run post nothing twice.
func ExampleClient_PostBulk() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	job := &dynamo.Batch{Template: "0691x000002AbCdQAK"}
	for i := range 2500 {
		job.Tasks = append(job.Tasks, dynamo.Task{Params: dynamo.Params{"id": fmt.Sprintf("a01%07d", i)}})
	}
	dir, err := os.MkdirTemp("", "month-end")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	journal := dynamo.WithJournal(filepath.Join(dir, "2024-01.journal"))

	// Each chunk's task IDs go to the callback (and the journal), so that
	// the report does not grow with the job.
	taskIDs := make(map[int][]string)
	report, err := client.PostBulk(ctx, job, journal, dynamo.WithChunkDone(func(ch dynamo.ChunkResult) {
		taskIDs[ch.Index] = ch.TaskIDs
	}))
	if err != nil { // a chunk not accepted, or the job stopped
		fmt.Println("job incomplete:", err)
		return
	}
	for _, ch := range report.Chunks {
		fmt.Printf("records [%d, %d): %d task IDs, error: %v\n", ch.First, ch.End, len(taskIDs[ch.Index]), ch.Err)
	}
	fmt.Println("posted:", report.Count(dynamo.ChunkAccepted))

	// Run again, as after a crash: the journal says every chunk was accepted.
	again, err := client.PostBulk(ctx, job, journal)
	if err != nil {
		fmt.Println("job incomplete:", err)
		return
	}
	fmt.Println("second run posted:", again.Count(dynamo.ChunkAccepted), "skipped:", again.Count(dynamo.ChunkSkipped))
	fmt.Println("batches on the server:", len(srv.Batches()))
	// Output:
	// records [0, 1000): 1000 task IDs, error: <nil>
	// records [1000, 2000): 1000 task IDs, error: <nil>
	// records [2000, 2500): 500 task IDs, error: <nil>
	// posted: 3
	// second run posted: 0 skipped: 3
	// batches on the server: 3
}

// ExampleWithStop stops a bulk job gracefully: no new chunk starts, the posts
// in flight finish and are recorded.
func ExampleWithStop() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := &dynamo.Batch{Template: "0691x000002AbCdQAK", Tasks: []dynamo.Task{
		{Params: dynamo.Params{"id": "a010000001"}}, {Params: dynamo.Params{"id": "a010000002"}}, {Params: dynamo.Params{"id": "a010000003"}},
	}}

	// A program closes stop on its first SIGINT or SIGTERM and cancels ctx on
	// the second:
	//
	//	signals := make(chan os.Signal, 2)
	//	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	//	go func() { <-signals; close(stop); <-signals; cancel() }()
	//
	// Here the first chunk's callback plays the first signal.
	stop := make(chan struct{})
	report, err := client.PostBulk(ctx, job, dynamo.WithChunkSize(1), dynamo.WithBulkConcurrency(1), dynamo.WithStop(stop),
		dynamo.WithChunkDone(func(ch dynamo.ChunkResult) {
			if ch.Index == 0 {
				close(stop)
			}
		}))
	fmt.Println("stopped:", errors.Is(err, dynamo.ErrBulkStopped))
	for _, ch := range report.Chunks {
		fmt.Println(ch.Index, ch.State)
	}
	// Output:
	// stopped: true
	// 0 accepted
	// 1 not-started
	// 2 not-started
}
