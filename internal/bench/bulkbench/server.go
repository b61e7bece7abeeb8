package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// runServer is the API stand-in: it answers a batch post as the service
// does (202, the batch ID and one task ID per task), after reading the body
// to count its tasks, and prints its URL.
func runServer() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("http://" + ln.Addr().String())
	var batches atomic.Int64
	var mu sync.Mutex
	taskIDs := make(map[int][]string) // by task count: the same IDs for every batch of that size
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Dynamo-Api-Key") != apiKey || r.Header.Get("X-Dynamo-Tenant-Id") != tenantID {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var body struct{ Tasks []json.RawMessage }
		if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
			return
		}
		n := len(body.Tasks)
		mu.Lock()
		ids, ok := taskIDs[n]
		if !ok {
			for i := range n {
				ids = append(ids, fmt.Sprintf("%08x-0000-4000-8000-%012x", n, i))
			}
			taskIDs[n] = ids
		}
		mu.Unlock()
		id := fmt.Sprintf("%032x", batches.Add(1))
		out, _ := json.Marshal(map[string]any{"id": id, "tasks": ids, "message": "Success", "licenseUsage": n})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(out)
	}))
}
