package dynamotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
)

// Server is a fake Dynamo API backed by two loopback HTTP servers: the API host at URL
// and the storage host that serves result files at StorageURL. Create one with
// NewServer and Close it when done.
type Server struct {
	// URL is the API base URL, such as http://127.0.0.1:port.
	URL string
	// StorageURL is the base URL of the storage host that serves result files.
	StorageURL string
	// TenantID is the tenant ID the API host accepts.
	TenantID string
	// APIKey is the API key the API host accepts.
	APIKey string

	cfg        serverConfig
	signingKey []byte // signs result URLs; kept across Reset, like the credentials
	api        *httptest.Server
	storage    *httptest.Server
	done       chan struct{}
	closeOnce  sync.Once

	clockMu sync.Mutex // guards clockOffset: the clock is read with and without mu

	mu              sync.Mutex
	requests        []*Request
	storageRequests []*Request
	batches         []*batchState
	batchIndex      map[string]*batchState
	singles         []*singleState
	singleIndex     map[string]*singleState
	apiTerm         int // accepted Task API posts, reported as usage.api.term
	faults          map[Route][]Fault
	holds           map[string]chan struct{} // the control API's named holds
	clockOffset     time.Duration            // how far AdvanceClock moved the clock
}

// NewServer starts a fake Dynamo API and its storage host on loopback addresses.
// Options are applied in order; nil ones are skipped.
func NewServer(opts ...ServerOption) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	s := &Server{
		TenantID:   cfg.tenantID,
		APIKey:     cfg.apiKey,
		cfg:        cfg,
		signingKey: []byte(randomHex(32)),
		done:       make(chan struct{}),
	}
	clock := cfg.now
	s.cfg.now = func() time.Time {
		s.clockMu.Lock()
		offset := s.clockOffset
		s.clockMu.Unlock()
		return clock().Add(offset)
	}
	s.forget()
	s.api = startServer(cfg.apiListener, s.apiHandler())
	s.storage = startServer(cfg.storageListener, s.recorder(true, http.HandlerFunc(s.serveStorage)))
	s.URL = s.api.URL
	s.StorageURL = s.storage.URL
	return s
}

// forget drops every batch, task, request, fault and usage count; s.mu is held or the
// server is not running yet.
func (s *Server) forget() {
	s.requests = nil
	s.storageRequests = nil
	s.batches = nil
	s.batchIndex = make(map[string]*batchState)
	s.singles = nil
	s.singleIndex = make(map[string]*singleState)
	s.apiTerm = 0
	s.faults = make(map[Route][]Fault)
	for _, ch := range s.holds {
		close(ch)
	}
	s.holds = make(map[string]chan struct{})
	s.clockMu.Lock()
	s.clockOffset = 0
	s.clockMu.Unlock()
}

// Reset forgets every batch, Task API task, recorded request, queued fault and usage
// count, as if the server had just started; its URLs, credentials and options stay.
// The clock goes back to the one the server started with (AdvanceClock is undone),
// and the control API's named holds are released.
// Result URLs handed out before are then answered 404. A request in flight during
// Reset may still store what it carries and is not recorded.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget()
}

// Close shuts down both servers. Requests held by a Hang, Hold or Delay fault are
// ended at once, without an answer. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.api.CloseClientConnections()
		s.storage.CloseClientConnections()
		s.api.Close()
		s.storage.Close()
	})
}

// Client returns a dynamo.Client that talks to this server with its credentials. The
// server's URL comes first, so opts may override it. Client panics if the client cannot
// be created.
func (s *Server) Client(opts ...dynamo.Option) *dynamo.Client {
	all := append([]dynamo.Option{dynamo.WithBaseURL(s.URL)}, opts...)
	c, err := dynamo.NewClient(s.TenantID, s.APIKey, all...)
	if err != nil {
		panic(fmt.Sprintf("dynamotest: creating a client for %s: %v", s.URL, err))
	}
	return c
}

// Request is one request as it arrived at the API host or the storage host.
type Request struct {
	// Method and Path are the request's method and URL path.
	Method, Path string
	// Header is a copy of the request headers. For the API host the
	// x-dynamo-api-key header is removed; requests to the storage host keep every
	// header, so that a leaked key is visible.
	Header http.Header
	// HasAPIKey reports whether the request carried the server's API key.
	HasAPIKey bool
	// ContentLength is the declared length of the body, -1 when it was not declared.
	ContentLength int64
	// BytesRead is how many body bytes the fake actually read.
	BytesRead int64
	// Chunked reports whether the body was sent with chunked transfer encoding.
	Chunked bool
	// JSON is the raw body of a JSON post, or the data part of a multipart post, of
	// either API.
	JSON json.RawMessage
	// Template describes the template part of a multipart post.
	Template *TemplateInfo
	// Parts holds the extra JSON parts of a multipart post, keyed by name without
	// the "param." prefix.
	Parts map[string]json.RawMessage
	// Status is the status code the fake answered with, 0 if it answered nothing.
	Status int
}

// TemplateInfo describes an embedded template as it arrived. The fake never keeps the
// template's bytes, only their count and hash.
type TemplateInfo struct {
	// FileName is the file name from the part's Content-Disposition.
	FileName string
	// ContentType is the part's Content-Type header.
	ContentType string
	// Size is the number of template bytes received.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the template bytes.
	SHA256 string
}

// Requests returns a copy of every request that arrived at the API host since the
// server started or was Reset, in order of arrival, including refused, faulted and
// dropped ones; requests to the control API (ControlPrefix) are not recorded.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyRequests(s.requests)
}

// StorageRequests returns a copy of every request that arrived at the storage host
// since the server started or was Reset, in order of arrival.
func (s *Server) StorageRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyRequests(s.storageRequests)
}

func copyRequests(in []*Request) []Request {
	out := make([]Request, len(in))
	for i, r := range in {
		out[i] = r.clone()
	}
	return out
}

func (r *Request) clone() Request {
	c := *r
	c.Header = r.Header.Clone()
	if r.JSON != nil {
		c.JSON = append(json.RawMessage(nil), r.JSON...)
	}
	if r.Template != nil {
		t := *r.Template
		c.Template = &t
	}
	c.Parts = copyParts(r.Parts)
	return c
}

func copyParts(in map[string]json.RawMessage) map[string]json.RawMessage {
	if in == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(in))
	for k, v := range in {
		out[k] = append(json.RawMessage(nil), v...)
	}
	return out
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}
