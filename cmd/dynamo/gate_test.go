package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

// gate is an HTTP front for a dynamotest server that tells the test what the
// fake did, as it happens, and can hold the answer of a post that the fake
// has accepted, so that tests wait on events instead of sleeping.
// (dynamotest is to gain an accept callback and a Fault that holds an
// answer; this does the same from outside until it has.)
type gate struct {
	srv       *dynamotest.Server
	front     *httptest.Server
	transport *http.Transport
	env       map[string]string // the tool's environment, pointing at the gate
	held      chan string       // the batch ID of every post whose answer is held

	mu        sync.Mutex
	hold      chan struct{}        // non-nil: hold accepted posts' answers until it is closed
	onAccept  func(batchID string) // after the fake accepted a batch, before the answer goes on
	onStatus  func(batchID string) // after the fake answered a batch status
	status201 bool                 // answer an accepted post with 201 instead of 202
}

// newGate starts a dynamotest server with opts and a gate in front of it.
func newGate(t *testing.T, opts ...dynamotest.ServerOption) *gate {
	t.Helper()
	srv := dynamotest.NewServer(opts...)
	g := &gate{srv: srv, transport: &http.Transport{}, held: make(chan string, 100)}
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = g.transport
	proxy.ModifyResponse = g.modify
	// The fake dropped the connection, or the client went away while its
	// answer was held: drop the client's connection too.
	proxy.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
	g.front = httptest.NewServer(proxy)
	t.Cleanup(func() {
		g.release()
		g.front.Close()
		g.transport.CloseIdleConnections()
		srv.Close()
	})
	g.env = map[string]string{
		"DYNAMO_BASE_URL":  g.front.URL,
		"DYNAMO_TENANT_ID": srv.TenantID,
		"DYNAMO_API_KEY":   srv.APIKey,
	}
	return g
}

// holdPosts holds the answer of every post accepted from now on, until
// release; each held post's batch ID is sent on g.held.
func (g *gate) holdPosts() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold == nil {
		g.hold = make(chan struct{})
	}
}

// release lets the held answers go on, and holds no more.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold != nil {
		close(g.hold)
		g.hold = nil
	}
}

// completeOnAccept completes every batch as soon as the fake accepts it.
func (g *gate) completeOnAccept() {
	g.setOnAccept(func(id string) { g.srv.CompleteBatch(id) })
}

func (g *gate) setOnAccept(fn func(string)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onAccept = fn
}

func (g *gate) setOnStatus(fn func(string)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onStatus = fn
}

func (g *gate) answer201() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status201 = true
}

// modify sees each answer of the fake before it goes on to the client.
func (g *gate) modify(resp *http.Response) error {
	req := resp.Request
	g.mu.Lock()
	onAccept, onStatus, hold, s201 := g.onAccept, g.onStatus, g.hold, g.status201
	g.mu.Unlock()
	switch {
	case req.Method == http.MethodPost && req.URL.Path == "/v1/batch" && resp.StatusCode == http.StatusAccepted:
		id, err := batchIDOf(resp)
		if err != nil {
			return err
		}
		if onAccept != nil {
			onAccept(id)
		}
		if s201 {
			resp.StatusCode, resp.Status = http.StatusCreated, "201 Created"
		}
		if hold != nil {
			g.held <- id
			select {
			case <-hold:
			case <-req.Context().Done():
				return req.Context().Err()
			}
		}
	case req.Method == http.MethodGet && strings.Count(req.URL.Path, "/") == 3 && resp.StatusCode == http.StatusOK && onStatus != nil:
		onStatus(strings.TrimPrefix(req.URL.Path, "/v1/batch/"))
	}
	return nil
}

// batchIDOf reads the batch ID of an accepted post's answer, leaving the
// body to be read again.
func batchIDOf(resp *http.Response) (string, error) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var answer struct {
		ID string `json:"id"`
	}
	err = json.Unmarshal(body, &answer)
	return answer.ID, err
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
