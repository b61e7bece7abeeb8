package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// handClient is the baseline: what a competent engineer writes for the same
// wire calls with net/http and encoding/json alone. It sends the same
// headers and the same bodies as the SDK, reads each answer whole (bounded),
// checks its status and decodes it into plain structs. It does not retry,
// validate or redact: that is what the SDK adds, and what the benchmark
// prices.
type handClient struct {
	hc        *http.Client
	base      string
	tenant    string
	key       string
	userAgent string
}

// maxHandAnswer bounds the answer the baseline reads, as any careful client
// does.
const maxHandAnswer = 10 << 20

// The wire types, as a hand-written client declares them.
type (
	handTask struct {
		Params map[string]any `json:"params"`
	}
	handIntegration struct {
		Type      string `json:"type"`
		SessionID string `json:"sessionID"`
		ServerURL string `json:"serverURL"`
	}
	handBatch struct {
		Template    string           `json:"template,omitempty"`
		Tasks       []handTask       `json:"tasks"`
		Integration *handIntegration `json:"integration,omitempty"`
	}
	handBatchResponse struct {
		ID           string   `json:"id"`
		Tasks        []string `json:"tasks"`
		Message      string   `json:"message"`
		LicenseUsage int      `json:"licenseUsage"`
	}
	handTaskRequest struct {
		Template    string           `json:"template,omitempty"`
		Params      map[string]any   `json:"params"`
		Integration *handIntegration `json:"integration,omitempty"`
	}
	handCount struct {
		Term    int `json:"term"`
		TermMax int `json:"termMax"`
	}
	handTaskResponse struct {
		TaskID  string `json:"taskID"`
		Message string `json:"message"`
		Usage   struct {
			API     handCount `json:"api"`
			Signing handCount `json:"signing"`
		} `json:"usage"`
	}
	handBatchStatus struct {
		PostDateTime      time.Time `json:"postDateTime"`
		CompletedDateTime time.Time `json:"completedDateTime"`
		Completed         bool      `json:"completed"`
		Errors            bool      `json:"errors"`
		StatusMessage     string    `json:"statusMessage"`
		Tasks             []struct {
			ID        string `json:"id"`
			Completed bool   `json:"completed"`
			Errors    bool   `json:"errors"`
		} `json:"tasks"`
	}
	handTaskStatus struct {
		StartDateTime     time.Time `json:"startDateTime"`
		EndDateTime       time.Time `json:"endDateTime"`
		Completed         bool      `json:"completed"`
		Errors            bool      `json:"errors"`
		StatusMessage     string    `json:"statusMessage"`
		StatusDescription string    `json:"statusDescription"`
		Log               []string  `json:"log"`
		Results           []string  `json:"results"`
		ResultList        []struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		} `json:"resultList"`
	}
)

// handError is a non-2xx answer.
type handError struct {
	method, path string
	status       int
	body         string
}

func (e *handError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.path, e.status, e.body)
}

// send makes one request and decodes a 2xx answer into out.
func (h *handClient) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("X-Dynamo-Tenant-Id", h.tenant)
	req.Header.Set("X-Dynamo-Api-Key", h.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", h.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHandAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &handError{method: method, path: path, status: resp.StatusCode, body: string(data)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func (h *handClient) getBatchStatus(ctx context.Context, batchID string) (*handBatchStatus, error) {
	var st handBatchStatus
	if err := h.send(ctx, http.MethodGet, "/v1/batch/"+url.PathEscape(batchID), "", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (h *handClient) getTaskStatus(ctx context.Context, batchID, taskID string) (*handTaskStatus, error) {
	var st handTaskStatus
	if err := h.send(ctx, http.MethodGet, "/v1/batch/"+url.PathEscape(batchID)+"/"+url.PathEscape(taskID), "", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (h *handClient) getTask(ctx context.Context, taskID string) (*handTaskStatus, error) {
	var st handTaskStatus
	if err := h.send(ctx, http.MethodGet, "/v1/task/"+url.PathEscape(taskID), "", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// postBatch posts b as JSON and checks that the answer gives the batch ID and
// one task ID per task.
func (h *handClient) postBatch(ctx context.Context, b *handBatch) (*handBatchResponse, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return h.postBatchBody(ctx, "application/json", body, len(b.Tasks))
}

func (h *handClient) postBatchBody(ctx context.Context, contentType string, body []byte, tasks int) (*handBatchResponse, error) {
	var resp handBatchResponse
	if err := h.send(ctx, http.MethodPost, "/v1/batch", contentType, body, &resp); err != nil {
		return nil, err
	}
	if resp.ID == "" || len(resp.Tasks) != tasks {
		return nil, fmt.Errorf("POST /v1/batch: answer with batch ID %q and %d task IDs for %d tasks", resp.ID, len(resp.Tasks), tasks)
	}
	return &resp, nil
}

// postBatchWithTemplate posts b (without a template reference) as a
// multipart body: the template file, then the data part. The template is
// small, so the body is built in memory, as anyone would for a few KB.
func (h *handClient) postBatchWithTemplate(ctx context.Context, name string, template []byte, b *handBatch) (*handBatchResponse, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(template) + len(data) + 512)
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("template", name)
	if err != nil {
		return nil, err
	}
	fw.Write(template) // a bytes.Buffer does not fail
	dw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="data"`},
		"Content-Type":        {"application/json"},
	})
	if err != nil {
		return nil, err
	}
	dw.Write(data)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return h.postBatchBody(ctx, mw.FormDataContentType(), buf.Bytes(), len(b.Tasks))
}

func (h *handClient) postTask(ctx context.Context, r *handTaskRequest) (*handTaskResponse, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var resp handTaskResponse
	if err := h.send(ctx, http.MethodPost, "/v1/task", "application/json", body, &resp); err != nil {
		return nil, err
	}
	if resp.TaskID == "" {
		return nil, errors.New("POST /v1/task: answer without a task ID")
	}
	return &resp, nil
}

// postBulk posts tasks in batches of chunk tasks, concurrency of them at
// once, each encoded just before it is sent, and returns the batch IDs in
// chunk order. It stops starting chunks at the first error.
func (h *handClient) postBulk(ctx context.Context, template string, tasks []handTask, in *handIntegration, chunk, concurrency int) ([]string, error) {
	n := (len(tasks) + chunk - 1) / chunk
	ids := make([]string, n)
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				end := min((i+1)*chunk, len(tasks))
				resp, err := h.postBatch(ctx, &handBatch{Template: template, Tasks: tasks[i*chunk : end], Integration: in})
				if err != nil {
					errs[w] = fmt.Errorf("chunk %d: %w", i, err)
					failed.Store(true)
					return
				}
				ids[i] = resp.ID
			}
		}()
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// taskStatuses reads the batch's task list, then the status of every task,
// concurrency at once, and returns them in the batch's order.
func (h *handClient) taskStatuses(ctx context.Context, batchID string, concurrency int) ([]*handTaskStatus, error) {
	batch, err := h.getBatchStatus(ctx, batchID)
	if err != nil {
		return nil, err
	}
	out := make([]*handTaskStatus, len(batch.Tasks))
	errs := make([]error, len(batch.Tasks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, len(out)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(out) {
					return
				}
				out[i], errs[i] = h.getTaskStatus(ctx, batchID, batch.Tasks[i].ID)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
