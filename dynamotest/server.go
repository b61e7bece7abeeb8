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

// defaultTenantID is the tenant ID a Server accepts unless WithCredentials says otherwise.
const defaultTenantID = "00D000000000001AAA"

// retention is how long the status endpoints keep answering for a batch.
const retention = 24 * time.Hour

// serverConfig holds what the ServerOptions set.
type serverConfig struct {
	tenantID     string
	apiKey       string
	now          func() time.Time
	autoComplete time.Duration
	resultIDs    []string
}

// ServerOption configures a Server created by NewServer.
type ServerOption func(*serverConfig)

// WithCredentials sets the tenant ID and API key the server accepts. By default the
// tenant is "00D000000000001AAA" and the key is 32 random hex digits, new for every server.
func WithCredentials(tenantID, apiKey string) ServerOption {
	return func(c *serverConfig) {
		c.tenantID = tenantID
		c.apiKey = apiKey
	}
}

// WithClock replaces time.Now as the server's clock. The clock stamps postings and task
// progress, and decides auto-completion and the 24-hour expiry of batches.
func WithClock(now func() time.Time) ServerOption {
	return func(c *serverConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithAutoComplete makes every task that the test does not drive complete on its own,
// after the given duration from the moment its batch was posted. The delay is judged
// lazily, by the clock, whenever state is read (status requests, Batches, Batch). Zero,
// the default, means never: tasks stay queued until the test drives them.
func WithAutoComplete(after time.Duration) ServerOption {
	return func(c *serverConfig) {
		if after < 0 {
			after = 0
		}
		c.autoComplete = after
	}
}

// WithResultFiles gives every auto-completed task one result file per ID, with
// generated content of the form "result <id> of task <taskID>".
func WithResultFiles(ids ...string) ServerOption {
	return func(c *serverConfig) {
		c.resultIDs = append([]string(nil), ids...)
	}
}

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

	cfg       serverConfig
	api       *httptest.Server
	storage   *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu              sync.Mutex
	requests        []*Request
	storageRequests []*Request
	batches         []*batchState
	batchIndex      map[string]*batchState
	faults          map[Route][]Fault
}

// NewServer starts a fake Dynamo API and its storage host on loopback addresses.
func NewServer(opts ...ServerOption) *Server {
	cfg := serverConfig{
		tenantID: defaultTenantID,
		apiKey:   randomHex(16),
		now:      time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	s := &Server{
		TenantID:   cfg.tenantID,
		APIKey:     cfg.apiKey,
		cfg:        cfg,
		done:       make(chan struct{}),
		batchIndex: make(map[string]*batchState),
		faults:     make(map[Route][]Fault),
	}

	apiMux := http.NewServeMux()
	apiMux.Handle("POST /v1/batch", s.route(RoutePostBatch, true, s.postBatch))
	apiMux.Handle("GET /v1/batch/{batchId}", s.route(RouteBatchStatus, true, s.batchStatus))
	apiMux.Handle("GET /v1/batch/{batchId}/{taskId}", s.route(RouteTaskStatus, true, s.taskStatus))
	apiMux.Handle("/", s.route("", true, noRoute))

	storageMux := http.NewServeMux()
	storageMux.Handle("GET /files/{batchId}/{taskId}/{resultId}", s.route(RouteDownload, false, s.download))
	storageMux.Handle("/", s.route("", false, noRoute))

	s.api = httptest.NewServer(s.recorder(false, apiMux))
	s.storage = httptest.NewServer(s.recorder(true, storageMux))
	s.URL = s.api.URL
	s.StorageURL = s.storage.URL
	return s
}

// Close shuts down both servers. Requests held by Hang or Delay faults are ended at
// once. Close may be called more than once.
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
	// JSON is the raw body of a JSON post, or the data part of a multipart post.
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

// Batch is a snapshot of a posted batch.
type Batch struct {
	// ID is the batch ID handed out when the batch was posted.
	ID string
	// Template is the template reference of a JSON post; empty for a multipart post.
	Template string
	// EmbeddedTemplate describes the template part of a multipart post; nil for a
	// JSON post.
	EmbeddedTemplate *TemplateInfo
	// Integration is the integration object as posted, nil when there was none.
	Integration map[string]any
	// PostedAt is the server clock's time when the batch was accepted.
	PostedAt time.Time
	// Tasks are the batch's tasks in posted order.
	Tasks []Task
}

// PartParam is one partParams entry of a task, as posted.
type PartParam struct {
	PartName  string
	ParamName string
}

// Task is a snapshot of one task of a batch.
type Task struct {
	// ID is the task ID handed out when the batch was posted.
	ID string
	// Params holds the task's params merged with its partParams: each entry, in
	// order, puts the decoded JSON of its part under its paramName (later entries win).
	Params map[string]any
	// PartParams are the task's partParams entries as posted.
	PartParams []PartParam
	// Started, Completed and Errors tell the task's progress.
	Started, Completed, Errors bool
	// StatusMessage is "Queued", "Running", "Completed" or a failure message.
	StatusMessage string
	// StartedAt and EndedAt are zero until the task starts and ends.
	StartedAt, EndedAt time.Time
	// Log holds the task's compose log entries.
	Log []string
	// Results are the files the task produced.
	Results []ResultFile
}

// ResultFile is one result file of a task, served by the storage host.
type ResultFile struct {
	ID      string
	Content []byte
}

// Requests returns a copy of every request that arrived at the API host, in order of
// arrival, including refused, faulted and dropped ones.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyRequests(s.requests)
}

// StorageRequests returns a copy of every request that arrived at the storage host, in
// order of arrival.
func (s *Server) StorageRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyRequests(s.storageRequests)
}

// Batches returns a snapshot of every posted batch, in posting order, expired ones
// included.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	out := make([]Batch, 0, len(s.batches))
	for _, b := range s.batches {
		s.settle(b, now)
		out = append(out, b.snapshot())
	}
	return out
}

// Batch returns a snapshot of the batch with the given ID.
func (s *Server) Batch(id string) (Batch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batchIndex[id]
	if !ok {
		return Batch{}, false
	}
	s.settle(b, s.cfg.now())
	return b.snapshot(), true
}

// StartTask marks a task as running from now on. It panics if the batch or task is
// unknown.
func (s *Server) StartTask(batchID, taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	t := s.mustTask("StartTask", batchID, taskID, now)
	t.driven = true
	t.started = true
	t.completed = false
	t.errors = false
	t.statusMessage = statusRunning
	t.startedAt = now
	t.endedAt = time.Time{}
}

// CompleteTask marks a task as completed without errors, with the given result files.
// It panics if the batch or task is unknown.
func (s *Server) CompleteTask(batchID, taskID string, results ...ResultFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	t := s.mustTask("CompleteTask", batchID, taskID, now)
	t.finish(now, false, statusCompleted)
	t.results = copyResults(results)
}

// FailTask marks a task as completed with errors: its status message becomes message
// and its log gets a SEVERE entry. It panics if the batch or task is unknown.
func (s *Server) FailTask(batchID, taskID, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	t := s.mustTask("FailTask", batchID, taskID, now)
	if message == "" {
		message = "Failed"
	}
	t.finish(now, true, message)
	t.log = append(t.log, "SEVERE "+message)
}

// CompleteBatch completes, without errors or results, every task of the batch that is
// not completed yet. It panics if the batch is unknown.
func (s *Server) CompleteBatch(batchID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	b, ok := s.batchIndex[batchID]
	if !ok {
		panic(fmt.Sprintf("dynamotest: CompleteBatch: unknown batch %q", batchID))
	}
	s.settle(b, now)
	for _, t := range b.tasks {
		if !t.completed {
			t.finish(now, false, statusCompleted)
		}
	}
}

// mustTask finds a task for a driving method, settling its batch first; s.mu is held.
func (s *Server) mustTask(method, batchID, taskID string, now time.Time) *taskState {
	b, ok := s.batchIndex[batchID]
	if !ok {
		panic(fmt.Sprintf("dynamotest: %s: unknown batch %q", method, batchID))
	}
	s.settle(b, now)
	t, ok := b.task(taskID)
	if !ok {
		panic(fmt.Sprintf("dynamotest: %s: batch %q has no task %q", method, batchID, taskID))
	}
	return t
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
	if r.Parts != nil {
		c.Parts = make(map[string]json.RawMessage, len(r.Parts))
		for k, v := range r.Parts {
			c.Parts[k] = append(json.RawMessage(nil), v...)
		}
	}
	return c
}

func copyResults(in []ResultFile) []ResultFile {
	if len(in) == 0 {
		return nil
	}
	out := make([]ResultFile, len(in))
	for i, r := range in {
		out[i] = ResultFile{ID: r.ID, Content: append([]byte(nil), r.Content...)}
	}
	return out
}
