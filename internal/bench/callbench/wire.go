package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The wire check runs every benchmarked operation once with each client
// and compares what the server received: the baseline is a fair one only if
// it sends what the SDK sends.

// wireRequest is what the server received of one request.
type wireRequest struct {
	method, path  string
	header        http.Header
	contentLength int64
	body          []byte
}

// recordRequests runs op with the server recording what it receives.
func (s *apiServer) recordRequests(ctx context.Context, op func(context.Context) error) ([]wireRequest, error) {
	var mu sync.Mutex
	var got []wireRequest
	capture := func(r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, wireRequest{
			method: r.Method, path: r.URL.EscapedPath(), header: r.Header.Clone(),
			contentLength: r.ContentLength, body: body,
		})
	}
	s.capture.Store(&capture)
	defer s.capture.Store(nil)
	err := op(ctx)
	mu.Lock()
	defer mu.Unlock()
	// Concurrent jobs send in any order; the order of their bodies is not
	// the point.
	slices.SortFunc(got, func(a, b wireRequest) int {
		return cmp.Or(strings.Compare(a.path, b.path), bytes.Compare(a.body, b.body))
	})
	return got, err
}

// wireOp is an operation to check, with the answer its posts expect.
type wireOp struct {
	name      string
	tasks     int // the server's batch answer's task count; 0 to keep it
	hand, sdk func(context.Context) error
}

// checkWire compares the requests of both clients for every operation and
// returns one line per difference found.
func checkWire(ctx context.Context, srv *apiServer, ops []wireOp) ([]string, error) {
	var problems []string
	for _, op := range ops {
		if op.tasks > 0 {
			srv.expectTasks(op.tasks)
		}
		hand, err := srv.recordRequests(ctx, op.hand)
		if err != nil {
			return nil, clientError(false, op.name, err)
		}
		sdk, err := srv.recordRequests(ctx, op.sdk)
		if err != nil {
			return nil, clientError(true, op.name, err)
		}
		if len(hand) != len(sdk) {
			problems = append(problems, fmt.Sprintf("%s: %d requests from net/http, %d from the SDK", op.name, len(hand), len(sdk)))
			continue
		}
		for i := range hand {
			for _, p := range compareRequests(hand[i], sdk[i]) {
				problems = append(problems, fmt.Sprintf("%s: request %d: %s", op.name, i, p))
			}
		}
	}
	return problems, nil
}

// wireHeaders are the headers that must be equal; User-Agent must be set by
// both, Content-Type equal but for a multipart boundary.
var wireHeaders = []string{"Accept", "Accept-Encoding", "X-Dynamo-Tenant-Id", "X-Dynamo-Api-Key"}

func compareRequests(a, b wireRequest) []string {
	var p []string
	if a.method != b.method || a.path != b.path {
		p = append(p, fmt.Sprintf("%s %s against %s %s", a.method, a.path, b.method, b.path))
	}
	names := func(h http.Header) []string {
		ks := make([]string, 0, len(h))
		for k := range h {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if an, bn := names(a.header), names(b.header); !slices.Equal(an, bn) {
		p = append(p, fmt.Sprintf("headers %v against %v", an, bn))
	}
	for _, k := range wireHeaders {
		if a.header.Get(k) != b.header.Get(k) {
			p = append(p, fmt.Sprintf("header %s: %q against %q", k, a.header.Get(k), b.header.Get(k)))
		}
	}
	if a.header.Get("User-Agent") == "" || b.header.Get("User-Agent") == "" {
		p = append(p, "no User-Agent")
	}
	for _, r := range []wireRequest{a, b} {
		if r.contentLength != int64(len(r.body)) {
			p = append(p, fmt.Sprintf("Content-Length %d for a body of %d bytes", r.contentLength, len(r.body)))
		}
	}
	at, aParams, aErr := mime.ParseMediaType(a.header.Get("Content-Type"))
	bt, bParams, bErr := mime.ParseMediaType(b.header.Get("Content-Type"))
	switch {
	case a.method == http.MethodGet:
		if len(a.body) > 0 || len(b.body) > 0 {
			p = append(p, "a GET with a body")
		}
	case aErr != nil || bErr != nil || at != bt:
		p = append(p, fmt.Sprintf("Content-Type %q against %q", a.header.Get("Content-Type"), b.header.Get("Content-Type")))
	case at == "multipart/form-data":
		ap, err1 := formParts(a.body, aParams["boundary"])
		bp, err2 := formParts(b.body, bParams["boundary"])
		switch {
		case err1 != nil || err2 != nil:
			p = append(p, fmt.Sprintf("multipart bodies: %v, %v", err1, err2))
		case !slices.EqualFunc(ap, bp, func(x, y formPart) bool { return x.equal(y) }):
			p = append(p, fmt.Sprintf("multipart parts %v against %v", ap, bp))
		}
	case !bytes.Equal(a.body, b.body):
		p = append(p, fmt.Sprintf("bodies differ:\n  net/http %.300s\n  SDK      %.300s", a.body, b.body))
	}
	return p
}

// formPart is a part of a multipart body as the API reads it.
type formPart struct {
	name, fileName, contentType string
	content                     []byte
}

func (p formPart) equal(q formPart) bool {
	return p.name == q.name && p.fileName == q.fileName && p.contentType == q.contentType && bytes.Equal(p.content, q.content)
}

func (p formPart) String() string {
	return fmt.Sprintf("{%s %q %s %d bytes}", p.name, p.fileName, p.contentType, len(p.content))
}

func formParts(body []byte, boundary string) ([]formPart, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var parts []formPart
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		parts = append(parts, formPart{part.FormName(), part.FileName(), part.Header.Get("Content-Type"), content})
	}
}
