package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The credentials both clients send; the stand-in refuses any others.
const (
	tenantID = "00D5g000004QdDeEAK"
	apiKey   = "bench-api-key-0123456789abcdef"
)

// standIn answers POST /v1/batch as the API does (202, the batch ID and one
// task ID per task), from answers encoded in advance, and counts what it
// accepts. A post's tasks are counted by their "params" keys, which both
// clients write once a task: the stand-in does not decode the body, so
// that it keeps up with any client.
type standIn struct {
	mu      sync.Mutex
	answers map[int][]byte // by task count

	posts, tasks atomic.Int64
	first        atomic.Int64 // the first post's arrival since the reset, Unix ns; 0 before
}

// standInStats is what GET /bench/stats answers.
type standInStats struct {
	Posts int64 `json:"posts"`
	Tasks int64 `json:"tasks"`
	// FirstPost is when the first post since the last reset arrived, in
	// Unix nanoseconds; 0 when none did.
	FirstPost int64 `json:"firstPost"`
}

var paramsKey = []byte(`"params"`)

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/bench/reset":
		s.posts.Store(0)
		s.tasks.Store(0)
		s.first.Store(0)
		return
	case r.URL.Path == "/bench/stats":
		_ = json.NewEncoder(w).Encode(standInStats{Posts: s.posts.Load(), Tasks: s.tasks.Load(), FirstPost: s.first.Load()})
		return
	case r.Header.Get("X-Dynamo-Tenant-Id") != tenantID || r.Header.Get("X-Dynamo-Api-Key") != apiKey:
		http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
		return
	case r.Method != http.MethodPost || r.URL.Path != "/v1/batch":
		http.Error(w, `{"message":"Not found"}`, http.StatusNotFound)
		return
	}
	s.first.CompareAndSwap(0, time.Now().UnixNano())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	n := bytes.Count(body, paramsKey)
	if n < 1 || n > 1000 {
		http.Error(w, `{"message":"tasks must hold 1 to 1000 tasks"}`, http.StatusBadRequest)
		return
	}
	s.posts.Add(1)
	s.tasks.Add(int64(n))
	a := s.answer(n)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a)))
	w.WriteHeader(http.StatusAccepted)
	w.Write(a)
}

// answer is the encoded answer to a post of n tasks.
func (s *standIn) answer(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.answers[n]; ok {
		return a
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-49cf-4089-a09b-%012x", 0x334b2fc3+i, 0xf638fb1f97dc+i*7919)
	}
	a, _ := json.Marshal(map[string]any{"id": "074608c2393f272d31870bd0e01f9652", "tasks": ids, "message": "Success", "licenseUsage": n})
	if s.answers == nil {
		s.answers = map[int][]byte{}
	}
	s.answers[n] = a
	return a
}

// runStandIn serves on a loopback port, writes its base URL as a line on
// stdout, and serves until stdin is closed.
func runStandIn(stdin io.Reader, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "bulktoolbench stand-in: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: &standIn{}}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
	_ = srv.Close()
	return 0
}

// standInClient is the benchmark's side of the stand-in.
type standInClient struct {
	url string
	hc  *http.Client
}

func (c *standInClient) reset() error {
	resp, err := c.hc.Post(c.url+"/bench/reset", "text/plain", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (c *standInClient) stats() (standInStats, error) {
	var st standInStats
	resp, err := c.hc.Get(c.url + "/bench/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}
