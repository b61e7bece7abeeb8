package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"
)

// The credential headers of the API, and the environment variables through
// which the benchmark hands the credentials to its children (not on their
// command lines). The header names are the API's, written out here rather
// than taken from the SDK (which keeps them unexported), so that the sink
// checks the SDK against the wire format and not against itself.
const (
	headerTenantID = "x-dynamo-tenant-id"
	headerAPIKey   = "x-dynamo-api-key"
	envTenantID    = "UPLOADBENCH_TENANT_ID"
	envAPIKey      = "UPLOADBENCH_API_KEY"
	// userAgentPrefix starts the User-Agent of a client trial, followed by
	// the trial's tag, so that the sink's record can be told apart from
	// one of an earlier trial that failed.
	userAgentPrefix = "uploadbench/"

	readHeaderTimeout = 10 * time.Second
)

// sinkRecord is what the sink saw of one request.
type sinkRecord struct {
	Tag           string `json:"tag"`           // the trial's tag, from the User-Agent
	Listener      string `json:"listener"`      // the variant whose listener took the request
	Proto         string `json:"proto"`         // as the request arrived: HTTP/1.1 or HTTP/2.0
	TLS           string `json:"tls,omitempty"` // TLS version, cipher suite and ALPN protocol; empty without TLS
	CPU           int64  `json:"cpu"`           // ns of the sink's CPU time while the body came in; -1 when unknown
	FirstByte     int64  `json:"firstByte"`     // UnixNano when the first body byte was read; 0 if none
	LastByte      int64  `json:"lastByte"`      // UnixNano when the body had been read whole
	Bytes         int64  `json:"bytes"`         // body bytes read
	ContentLength int64  `json:"contentLength"` // declared; -1 when not declared
	Chunked       bool   `json:"chunked"`
	Parts         int    `json:"parts"`
	TemplateName  string `json:"templateName"`
	TemplateType  string `json:"templateType"`
	TemplateBytes int64  `json:"templateBytes"`
	TemplateCRC   uint32 `json:"templateCRC"`
	Tasks         int    `json:"tasks"`
	Status        int    `json:"status"`
	Error         string `json:"error,omitempty"`
}

// sink is the server that receives the posts.
type sink struct {
	tenantID, apiKey string

	mu      sync.Mutex
	records []sinkRecord
	profile *os.File // the CPU profile being written, if any
}

// runSink serves until its standard input is closed (or the process is
// killed). It listens for each variant in -proto (and -tune) on a port of
// its own, and for the benchmark's own requests on another, and prints the
// addresses on one line on stdout:
// "control=HOST:PORT <variant>=HOST:PORT …". For TLS it makes a certificate
// and writes it in PEM to -cert before it prints that line.
func runSink(o *options, stdout, stderr io.Writer) int {
	s := &sink{tenantID: os.Getenv(envTenantID), apiKey: os.Getenv(envAPIKey)}
	if s.tenantID == "" || s.apiKey == "" {
		fmt.Fprintf(stderr, "uploadbench sink: %s and %s must be set\n", envTenantID, envAPIKey)
		return 2
	}
	servers, line, err := s.listen(o)
	if err != nil {
		fmt.Fprintf(stderr, "uploadbench sink: %v\n", err)
		return 1
	}
	go func() {
		// The parent closes our standard input to stop us, or dies.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	errs := make(chan error, len(servers))
	for _, sv := range servers {
		go func() {
			if sv.srv.TLSConfig != nil {
				errs <- sv.srv.ServeTLS(sv.ln, "", "")
			} else {
				errs <- sv.srv.Serve(sv.ln)
			}
		}()
	}
	fmt.Fprintln(stdout, line)
	fmt.Fprintf(stderr, "uploadbench sink: %v\n", <-errs)
	return 1
}

type sinkServer struct {
	srv *http.Server
	ln  net.Listener
}

// listen opens the sink's listeners and returns its servers and the line
// that tells their addresses.
func (s *sink) listen(o *options) ([]sinkServer, string, error) {
	var cert tls.Certificate
	if slices.ContainsFunc(o.protos, proto.isTLS) {
		if o.certFile == "" {
			return nil, "", errors.New("-cert is required for TLS")
		}
		c, pemCert, err := newCertificate()
		if err != nil {
			return nil, "", fmt.Errorf("making a certificate: %w", err)
		}
		if err := os.WriteFile(o.certFile, pemCert, 0o600); err != nil {
			return nil, "", err
		}
		cert = c
	}
	var servers []sinkServer
	var line strings.Builder
	add := func(name string, srv *http.Server) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		servers = append(servers, sinkServer{srv: srv, ln: ln})
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		fmt.Fprintf(&line, "%s=%s", name, ln.Addr())
		return nil
	}
	control := http.NewServeMux()
	control.HandleFunc("GET /stats", s.stats)
	control.HandleFunc("POST /profile", s.startProfile)
	if err := add("control", &http.Server{Handler: control, ReadHeaderTimeout: readHeaderTimeout}); err != nil {
		return nil, "", err
	}
	for _, v := range o.variants() {
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/batch", func(w http.ResponseWriter, r *http.Request) { s.batch(w, r, v) })
		srv, err := newSinkServer(v, mux, cert, &o.tune)
		if err != nil {
			return nil, "", err
		}
		if err := add(v.String(), srv); err != nil {
			return nil, "", err
		}
	}
	return servers, line.String(), nil
}

// startProfile starts a CPU profile into the file named by the form value
// "file", which ends when the next post has been answered. A profile left
// running (its trial never reached the sink) is ended first.
func (s *sink) startProfile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopProfileLocked()
	f, err := os.Create(r.FormValue("file"))
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	s.profile = f
	w.WriteHeader(http.StatusNoContent)
}

func (s *sink) stopProfileLocked() {
	if s.profile != nil {
		pprof.StopCPUProfile()
		s.profile.Close()
		s.profile = nil
	}
}

// stats answers the records of the requests since the last call, and
// forgets them.
func (s *sink) stats(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	recs := s.records
	s.records = nil
	s.mu.Unlock()
	if recs == nil {
		recs = []sinkRecord{}
	}
	writeJSON(w, http.StatusOK, recs)
}

// countingReader counts the bytes read through it and notes when the first
// one came.
type countingReader struct {
	r     io.Reader
	n     int64
	first int64 // UnixNano
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.first == 0 {
		c.first = time.Now().UnixNano()
	}
	c.n += int64(n)
	return n, err
}

// batch handles POST /v1/batch: it reads the multipart body as it streams
// in, checks it, and answers 202 as the API does.
//
// It parses the body itself, beside the fake's parser in dynamotest, on
// purpose: the sink runs in a process of its own, so that its work is not
// counted as the client's, and must keep up with the fastest client, so it
// reads through a large buffer and checks the template with CRC-32 rather
// than hashing it with SHA-256 and keeping every request as the fake does.
func (s *sink) batch(w http.ResponseWriter, r *http.Request, v variant) {
	cpu0 := processCPU()
	rec := sinkRecord{
		Listener:      v.String(),
		Proto:         r.Proto,
		ContentLength: r.ContentLength,
		Chunked:       slices.Contains(r.TransferEncoding, "chunked"),
		CPU:           -1,
	}
	if r.TLS != nil {
		rec.TLS = fmt.Sprintf("%s %s ALPN %q", tls.VersionName(r.TLS.Version), tls.CipherSuiteName(r.TLS.CipherSuite), r.TLS.NegotiatedProtocol)
	}
	if ua := strings.Fields(r.UserAgent()); len(ua) > 0 {
		rec.Tag, _ = strings.CutPrefix(ua[0], userAgentPrefix)
	}
	cr := &countingReader{r: r.Body}
	// answer records the request, then answers it: the record is there
	// before the client can see the answer.
	answer := func(status int, body any) {
		rec.Status = status
		rec.FirstByte, rec.Bytes = cr.first, cr.n
		if cpu1 := processCPU(); cpu0 >= 0 && cpu1 >= 0 {
			rec.CPU = int64(cpu1 - cpu0)
		}
		s.mu.Lock()
		s.records = append(s.records, rec)
		s.stopProfileLocked()
		s.mu.Unlock()
		writeJSON(w, status, body)
	}
	fail := func(status int, format string, args ...any) {
		rec.Error = fmt.Sprintf(format, args...)
		answer(status, map[string]string{"message": rec.Error})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	if r.Header.Get(headerTenantID) != s.tenantID || r.Header.Get(headerAPIKey) != s.apiKey {
		fail(http.StatusUnauthorized, "missing or wrong %s / %s header", headerTenantID, headerAPIKey)
		return
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		fail(http.StatusUnsupportedMediaType, "want multipart/form-data with a boundary, got %q", r.Header.Get("Content-Type"))
		return
	}

	// The large buffer lets the sink read the socket in big pieces, so
	// that it keeps up with the client; multipart's own buffer is small.
	br := bufio.NewReaderSize(cr, 1<<20)
	mr := multipart.NewReader(br, params["boundary"])
	buf := make([]byte, 256<<10)
	sawTemplate, sawData := false, false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(http.StatusBadRequest, "multipart body: %v", err)
			return
		}
		rec.Parts++
		switch name := p.FormName(); name {
		case "template":
			sawTemplate = true
			rec.TemplateName = p.FileName()
			rec.TemplateType = p.Header.Get("Content-Type")
			h := crc32.NewIEEE()
			n, err := io.CopyBuffer(h, p, buf)
			rec.TemplateBytes = n
			rec.TemplateCRC = h.Sum32()
			if err != nil {
				fail(http.StatusBadRequest, "template part: %v", err)
				return
			}
		case "data":
			sawData = true
			if ct := p.Header.Get("Content-Type"); ct != "application/json" {
				fail(http.StatusBadRequest, "data part: content type %q, want application/json", ct)
				return
			}
			n, err := countTasks(p)
			if err != nil {
				fail(http.StatusBadRequest, "data part: %v", err)
				return
			}
			rec.Tasks = n
		default:
			if _, err := io.CopyBuffer(io.Discard, p, buf); err != nil {
				fail(http.StatusBadRequest, "part %q: %v", name, err)
				return
			}
		}
	}
	// Whatever follows the closing delimiter is read too, so that Bytes
	// is the whole body.
	if _, err := io.CopyBuffer(io.Discard, br, buf); err != nil {
		fail(http.StatusBadRequest, "after the closing delimiter: %v", err)
		return
	}
	rec.LastByte = time.Now().UnixNano()
	switch {
	case !sawTemplate:
		fail(http.StatusBadRequest, "no template part")
		return
	case !sawData:
		fail(http.StatusBadRequest, "no data part")
		return
	case rec.Tasks < 1 || rec.Tasks > 1000:
		fail(http.StatusBadRequest, "%d tasks, want 1 to 1000", rec.Tasks)
		return
	}
	tasks := make([]string, rec.Tasks)
	for i := range tasks {
		tasks[i] = newUUID()
	}
	answer(http.StatusAccepted, map[string]any{
		"id":           newUUID(),
		"tasks":        tasks,
		"message":      "Success",
		"licenseUsage": rec.Tasks,
	})
}

// countTasks decodes the data part and counts its tasks, each of which must
// have a string id in its params.
func countTasks(r io.Reader) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20+1))
	if err != nil {
		return 0, err
	}
	if len(data) > 16<<20 {
		return 0, fmt.Errorf("larger than 16 MiB")
	}
	var d struct {
		Template *string `json:"template"`
		Tasks    []struct {
			Params map[string]any `json:"params"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, err
	}
	if d.Template != nil {
		return 0, fmt.Errorf("has a template field, which belongs to the JSON form only")
	}
	for i, t := range d.Tasks {
		if id, ok := t.Params["id"].(string); !ok || id == "" {
			return 0, fmt.Errorf("tasks[%d] has no string params.id", i)
		}
	}
	return len(d.Tasks), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
