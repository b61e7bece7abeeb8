package dynamo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// TestPostBulkFromMemoryDoesNotGrowWithTheRecords posts 200,000 records from
// a source that makes them as they are read, to a server that keeps nothing,
// and measures the heap still in use once PostBulkFrom has returned, with
// its report alive: a chunk-level report, not the ~65 bytes a record that
// keeping every record's task ID cost.
func TestPostBulkFromMemoryDoesNotGrowWithTheRecords(t *testing.T) {
	const records = 200_000
	var accepted atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Tasks []json.RawMessage }
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		resp := dynamo.BatchResponse{ID: "b" + strconv.FormatInt(accepted.Add(int64(len(body.Tasks))), 10), Message: "Success"}
		for i := range body.Tasks {
			resp.TaskIDs = append(resp.TaskIDs, resp.ID+"-"+strconv.Itoa(i))
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	client, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL(srv.URL))
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)

	// The heap is also measured during the run, at every 50th chunk's end: a
	// run that held the records it has read (all of them, after the
	// validation read) would show there, and no longer once it returned.
	var (
		mu     sync.Mutex
		chunks int
		peak   int64
	)
	before := heapInUse()
	during := dynamo.WithChunkDone(func(dynamo.ChunkResult) {
		mu.Lock()
		defer mu.Unlock()
		if chunks++; chunks%50 == 0 {
			peak = max(peak, int64(heapInUse())-int64(before))
		}
	})
	rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, &recordSource{n: records}, during)
	after := heapInUse()
	require.NoError(t, err)
	assert.Equal(t, int64(records), accepted.Load())
	assert.Len(t, rep.Chunks, records/dynamo.MaxTasksPerBatch)
	growth := int64(after) - int64(before)
	t.Logf("heap in use after the run: %+d bytes (%.2f bytes a record)", growth, float64(growth)/records)
	assert.Less(t, growth, int64(1<<20), "the heap kept after the run is not a record's worth of bytes a record")
	t.Logf("heap in use during the run, at most: %+d bytes (%.2f bytes a record)", peak, float64(peak)/records)
	assert.Equal(t, records/dynamo.MaxTasksPerBatch, chunks, "every chunk's end was seen")
	assert.Less(t, peak, int64(8<<20), "the heap in use during the run is a few chunks' worth, not the records read")
	runtime.KeepAlive(rep)
}

// heapInUse returns the bytes of live heap objects, after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
