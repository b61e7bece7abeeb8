package main

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

// testFake is a dynamotest server that tells the test, as it happens, which
// batches it accepts, and can act on them before the answer goes out, so
// that tests wait on events instead of sleeping.
type testFake struct {
	srv      *dynamotest.Server
	env      map[string]string // the tool's environment, pointing at srv
	accepted chan string       // the ID of every batch or task accepted

	mu       sync.Mutex
	onAccept func(srv *dynamotest.Server, a dynamotest.Accepted) // called before the answer goes out
}

// newFake starts a dynamotest server with opts for one test.
func newFake(t *testing.T, opts ...dynamotest.ServerOption) *testFake {
	t.Helper()
	f := &testFake{accepted: make(chan string, 256)}
	srv := dynamotest.NewServer(append(opts, dynamotest.WithOnAccept(f.accept))...)
	t.Cleanup(srv.Close)
	f.mu.Lock() // the callback reads srv on the fake's goroutines
	f.srv = srv
	f.mu.Unlock()
	f.env = map[string]string{
		"DYNAMO_BASE_URL":  f.srv.URL,
		"DYNAMO_TENANT_ID": f.srv.TenantID,
		"DYNAMO_API_KEY":   f.srv.APIKey,
	}
	return f
}

func (f *testFake) accept(a dynamotest.Accepted) {
	f.mu.Lock()
	fn, srv := f.onAccept, f.srv
	f.mu.Unlock()
	if fn != nil {
		fn(srv, a)
	}
	id := ""
	if a.Batch != nil {
		id = a.Batch.ID
	} else {
		id = a.Task.ID
	}
	select {
	case f.accepted <- id:
	default: // nobody is listening: never hold up the fake
	}
}

// setOnAccept calls fn with every batch the fake accepts, before the answer
// goes out.
func (f *testFake) setOnAccept(fn func(batchID string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onAccept = func(_ *dynamotest.Server, a dynamotest.Accepted) {
		if a.Batch != nil {
			fn(a.Batch.ID)
		}
	}
}

// setOnAcceptTask calls fn with every Task API task the fake accepts, and
// the fake, before the answer goes out.
func (f *testFake) setOnAcceptTask(fn func(srv *dynamotest.Server, taskID string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onAccept = func(srv *dynamotest.Server, a dynamotest.Accepted) {
		if a.Task != nil {
			fn(srv, a.Task.ID)
		}
	}
}

// completeOnAccept completes every batch as soon as the fake accepts it.
func (f *testFake) completeOnAccept() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onAccept = func(srv *dynamotest.Server, a dynamotest.Accepted) {
		if a.Batch != nil {
			srv.CompleteBatch(a.Batch.ID)
		}
	}
}

// holdPosts holds the answers of the next n batch posts, which the fake
// accepts, until release is called.
func (f *testFake) holdPosts(n int) (release func()) {
	hold := make(chan struct{})
	for range n {
		f.srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hold: hold})
	}
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }
}

// awaitAccepted waits until the fake has accepted n more posts.
func (f *testFake) awaitAccepted(t *testing.T, n int) {
	t.Helper()
	for range n {
		await(t, f.accepted, "an accepted post")
	}
}

// posts counts the batch posts that reached the fake.
func posts(srv *dynamotest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// acceptedIDs counts how many times each record ID was posted in a batch
// that the fake accepted.
func acceptedIDs(srv *dynamotest.Server) map[string]int {
	ids := make(map[string]int)
	for _, b := range srv.Batches() {
		for _, task := range b.Tasks {
			id, _ := task.Params["id"].(string)
			ids[id]++
		}
	}
	return ids
}

// wantEachOnce fails unless each of the first n records of records(n) was
// accepted exactly once.
func wantEachOnce(t *testing.T, srv *dynamotest.Server, n int) {
	t.Helper()
	ids := acceptedIDs(srv)
	for i := range n {
		id := recordID(i)
		if ids[id] != 1 {
			t.Errorf("record %s accepted %d times, want once", id, ids[id])
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct records accepted, want %d", len(ids), n)
	}
}

// await receives from ch, failing the test if nothing comes within a
// generous bound.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		var zero T
		return zero
	}
}
