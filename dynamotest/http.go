package dynamotest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// The credential headers, in their canonical form. The SDK and the benchmarks spell
// them too; the fake keeps its own on purpose, so that a typo in the SDK's headers is
// refused here instead of being agreed with.
const (
	headerTenantID = "X-Dynamo-Tenant-Id"
	headerAPIKey   = "X-Dynamo-Api-Key"
)

// exchange is the fake's view of one request in flight.
type exchange struct {
	s    *Server
	rec  *Request
	body *countingBody
}

// countingBody counts the body bytes the fake reads.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

// statusWriter notes the answered status in the request's record before any byte of
// the answer leaves, so a client that has its answer also finds it recorded.
type statusWriter struct {
	http.ResponseWriter
	x     *exchange
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.x.update(func(rec *Request) { rec.Status = code })
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection for hijacking.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// update changes the request's record under the server's lock, refreshing BytesRead.
func (x *exchange) update(f func(rec *Request)) {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.rec.BytesRead = x.body.n.Load()
	if f != nil {
		f(x.rec)
	}
}

// drop closes the connection without answering.
func (x *exchange) drop(w http.ResponseWriter) {
	x.update(nil)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	return r.Context().Value(exchangeKey{}).(*exchange)
}

// recorder records every request before handing it to next.
func (s *Server) recorder(storage bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &countingBody{rc: r.Body}
		if body.rc == nil {
			body.rc = http.NoBody
		}
		rec := &Request{
			Method:        r.Method,
			Path:          r.URL.Path,
			Header:        r.Header.Clone(),
			HasAPIKey:     s.hasAPIKey(r),
			ContentLength: r.ContentLength,
			Chunked:       slices.Contains(r.TransferEncoding, "chunked"),
		}
		if rec.Header == nil {
			rec.Header = make(http.Header)
		}
		if !storage {
			rec.Header.Del(headerAPIKey)
		}
		s.mu.Lock()
		if storage {
			s.storageRequests = append(s.storageRequests, rec)
		} else {
			s.requests = append(s.requests, rec)
		}
		s.mu.Unlock()

		x := &exchange{s: s, rec: rec, body: body}
		defer x.update(nil)
		sw := &statusWriter{ResponseWriter: w, x: x}
		// The handlers read the counted body of a copy: the server's own
		// request keeps its body, so that it still knows whether a client
		// that sent "Expect: 100-continue" was told to go on, and answers a
		// refusal at once instead of reading the body first.
		inner := r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
		inner.Body = body
		next.ServeHTTP(sw, inner)
	})
}

func (s *Server) hasAPIKey(r *http.Request) bool {
	got := r.Header.Get(headerAPIKey)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.APIKey)) == 1
}

// authError returns the refusal for a request without valid credentials, or nil.
func (s *Server) authError(r *http.Request) *reply {
	tenant := r.Header.Get(headerTenantID)
	key := r.Header.Get(headerAPIKey)
	switch {
	case tenant == "" && key == "":
		return errorReply(http.StatusUnauthorized, "missing x-dynamo-tenant-id and x-dynamo-api-key headers")
	case tenant == "":
		return errorReply(http.StatusUnauthorized, "missing x-dynamo-tenant-id header")
	case key == "":
		return errorReply(http.StatusUnauthorized, "missing x-dynamo-api-key header")
	case tenant != s.TenantID || !s.hasAPIKey(r):
		return errorReply(http.StatusUnauthorized, "invalid tenant ID or API key")
	}
	return nil
}

// handlerFunc decides the answer to a request that no fault replaced.
type handlerFunc func(x *exchange, r *http.Request) *reply

// serve answers r with h, under the next fault queued for route ("" for none), in
// the order documented on Fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, route Route, h handlerFunc) {
	x := exchangeOf(r)
	f := s.takeFault(route)
	if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
		x.drop(w)
		return
	}
	if f.DropBeforeRead {
		x.drop(w)
		return
	}
	if f.Hang {
		_, _ = io.Copy(io.Discard, r.Body)
		x.update(nil)
		s.wait(r.Context(), nil)
		x.drop(w)
		return
	}
	var rep *reply
	if f.Status != 0 {
		rep = faultReply(f)
	} else {
		rep = h(x, r)
		if f.SuccessStatus != 0 && rep.status/100 == 2 {
			rep.status = f.SuccessStatus
		}
	}
	for k, v := range f.Header {
		rep.header[k] = append([]string(nil), v...)
	}
	if f.Hold != nil {
		// The server notices a client that went away only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		x.update(nil)
		if !s.wait(r.Context(), f.Hold) {
			x.drop(w)
			return
		}
	}
	if f.DropAfterAccept {
		x.drop(w)
		return
	}
	rep.write(w)
}

// sleep waits for d; false if the client went away or the server closed first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// wait waits until ch is closed; false if the client went away or the server closed
// first. A nil ch waits for those alone.
func (s *Server) wait(ctx context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// reply is an answer not yet written.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (rep *reply) write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	if !bodyAllowed(rep.status) {
		w.WriteHeader(rep.status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// bodyAllowed reports whether an answer with the status may carry a body
// (RFC 9110, sections 15.3.5 and 15.4.5).
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

func jsonReply(status int, v any) *reply {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dynamotest: encoding a response: %v", err))
	}
	return &reply{
		status: status,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   body,
	}
}

type messageBody struct {
	Message string `json:"message"`
}

func errorReply(status int, format string, args ...any) *reply {
	return jsonReply(status, messageBody{Message: fmt.Sprintf(format, args...)})
}

func faultReply(f Fault) *reply {
	if f.Body == "" {
		return jsonReply(f.Status, messageBody{Message: http.StatusText(f.Status)})
	}
	ct := "text/plain; charset=utf-8"
	if json.Valid([]byte(f.Body)) {
		ct = "application/json"
	}
	return &reply{
		status: f.Status,
		header: http.Header{"Content-Type": {ct}},
		body:   []byte(f.Body),
	}
}
