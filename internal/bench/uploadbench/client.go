package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/internal/formdata"
)

// dataJSON is the data part both clients send: one task.
const dataJSON = `{"tasks":[{"params":{"id":"001"}}]}`

// clientResult is what a client trial measured of its own call.
type clientResult struct {
	start, end time.Time
	batchID    string
}

// runClient runs one client trial (-client=A or -client=B) against the sink
// at -url over -proto (trusting the certificate in -cert for TLS), posting
// the template at -file, and prints on stdout one line:
// "start=<UnixNano> end=<UnixNano> wall=<ns> hwm=<KiB> batch=<id>".
func runClient(o *options, stdout, stderr io.Writer) int {
	tenant, key := os.Getenv(envTenantID), os.Getenv(envAPIKey)
	switch {
	case tenant == "" || key == "":
		fmt.Fprintf(stderr, "uploadbench client: %s and %s must be set\n", envTenantID, envAPIKey)
		return 2
	case o.url == "" || o.file == "":
		fmt.Fprintln(stderr, "uploadbench client: -url and -file are required")
		return 2
	case o.client != "A" && o.client != "B":
		fmt.Fprintf(stderr, "uploadbench client: -client=%s: want A or B\n", o.client)
		return 2
	case len(o.protos) != 1:
		fmt.Fprintf(stderr, "uploadbench client: -proto=%s: want one protocol\n", &o.protos)
		return 2
	}
	p := o.protos[0]
	var roots *x509.CertPool
	if p.isTLS() {
		var err error
		if roots, err = loadRoots(o.certFile); err != nil {
			fmt.Fprintf(stderr, "uploadbench client: %v\n", err)
			return 1
		}
	}
	hc := &http.Client{Transport: o.tune.wrap(newTransport(p, roots, &o.tune))}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "uploadbench client: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "uploadbench client: %v\n", err)
			return 1
		}
	}
	var res clientResult
	var err error
	if o.client == "A" {
		res, err = postBaseline(ctx, hc, o.url, tenant, key, o.file, o.tag)
	} else {
		res, err = postSDK(ctx, hc, o.url, tenant, key, o.file, o.tag)
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "uploadbench client %s: %v\n", o.client, err)
		return 1
	}
	hwm := ownPeakRSS()
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			fmt.Fprintf(stderr, "uploadbench client: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "start=%d end=%d wall=%d hwm=%d batch=%s\n",
		res.start.UnixNano(), res.end.UnixNano(), int64(res.end.Sub(res.start)), hwm, res.batchID)
	return 0
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// postSDK is client B: the SDK, sending through hc. The client is made
// before the clock starts, as a program would make it once.
func postSDK(ctx context.Context, hc *http.Client, baseURL, tenant, key, path, tag string) (clientResult, error) {
	c, err := dynamo.NewClient(tenant, key, dynamo.WithBaseURL(baseURL), dynamo.WithUserAgent(userAgentPrefix+tag), dynamo.WithHTTPClient(hc))
	if err != nil {
		return clientResult{}, err
	}
	batch := &dynamo.Batch{Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "001"}}}}

	start := time.Now()
	t, err := dynamo.TemplateFromFile(path)
	if err != nil {
		return clientResult{}, err
	}
	resp, err := c.PostBatchWithTemplate(ctx, t, batch)
	end := time.Now()
	if err != nil {
		return clientResult{}, err
	}
	if len(resp.TaskIDs) != 1 {
		return clientResult{}, fmt.Errorf("answer has %d task IDs, want 1", len(resp.TaskIDs))
	}
	return clientResult{start: start, end: end, batchID: resp.ID}, nil
}

// postBaseline is client A: net/http alone, sending through hc. The body is
// the framing before the template, the file itself and the framing after
// it, chained with io.MultiReader, with its exact length declared.
func postBaseline(ctx context.Context, hc *http.Client, baseURL, tenant, key, path, tag string) (clientResult, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return clientResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return clientResult{}, err
	}
	// The SDK's own boundary generator, so that both bodies have the same
	// framing length.
	boundary := formdata.NewBoundary()
	head, tail := baselineFraming(boundary, filepath.Base(path), dataJSON)
	body := io.MultiReader(bytes.NewReader(head), f, bytes.NewReader(tail))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+"/v1/batch", body)
	if err != nil {
		return clientResult{}, err
	}
	req.ContentLength = int64(len(head)) + fi.Size() + int64(len(tail))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgentPrefix+tag)
	req.Header.Set(headerTenantID, tenant)
	req.Header.Set(headerAPIKey, key)
	resp, err := hc.Do(req)
	if err != nil {
		return clientResult{}, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return clientResult{}, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return clientResult{}, fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	var br struct {
		ID    string   `json:"id"`
		Tasks []string `json:"tasks"`
	}
	if err := json.Unmarshal(answer, &br); err != nil {
		return clientResult{}, fmt.Errorf("decoding the answer: %w", err)
	}
	end := time.Now()
	if br.ID == "" || len(br.Tasks) != 1 {
		return clientResult{}, errors.New("answer lacks the batch ID or the one task ID")
	}
	return clientResult{start: start, end: end, batchID: br.ID}, nil
}

// baselineFraming writes by hand the multipart framing around the template:
// head is the first delimiter and the template part's header; tail ends the
// template part and holds the data part and the closing delimiter.
func baselineFraming(boundary, fileName, data string) (head, tail []byte) {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	head = []byte("--" + boundary + "\r\n" +
		`Content-Disposition: form-data; name="template"; filename="` + esc.Replace(fileName) + "\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n")
	tail = []byte("\r\n--" + boundary + "\r\n" +
		`Content-Disposition: form-data; name="data"` + "\r\n" +
		"Content-Type: application/json\r\n\r\n" +
		data +
		"\r\n--" + boundary + "--\r\n")
	return head, tail
}
