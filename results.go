package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"sync"
)

// defaultStatusConcurrency is how many task statuses BatchTaskStatuses fetches at
// once unless told otherwise.
const defaultStatusConcurrency = 4

// BatchTaskStatusesOption configures BatchTaskStatuses. An option given an invalid
// value makes BatchTaskStatuses yield its error once, before any request; a nil
// BatchTaskStatusesOption is skipped.
type BatchTaskStatusesOption func(*statusesConfig) error

type statusesConfig struct {
	concurrency int
}

// WithStatusConcurrency sets how many task statuses are fetched at once
// (default 4); n must be at least 1.
func WithStatusConcurrency(n int) BatchTaskStatusesOption {
	return func(c *statusesConfig) error {
		if n < 1 {
			return configErrorf("WithStatusConcurrency", "%d is less than 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// BatchTaskStatuses reads the batch's task list, then yields the status of every
// task in the batch's order, fetching up to 4 of them (WithStatusConcurrency)
// at once. A failure for one task is yielded as a *BatchTaskStatusError that
// names it, and the iteration goes on; a failure to read the batch (or an
// invalid option) is yielded once, as it is, and ends the iteration.
// Stopping the loop early cancels the fetches in flight.
func (c *Client) BatchTaskStatuses(ctx context.Context, batchID string, opts ...BatchTaskStatusesOption) iter.Seq2[*TaskStatus, error] {
	cfg := statusesConfig{concurrency: defaultStatusConcurrency}
	optErr := applyOptions("BatchTaskStatuses", &cfg, opts)
	return func(yield func(*TaskStatus, error) bool) {
		if optErr != nil {
			yield(nil, optErr)
			return
		}
		batch, err := c.GetBatchStatus(ctx, batchID)
		if err != nil {
			yield(nil, err)
			return
		}
		c.fetchStatuses(ctx, batchID, batch.Tasks, cfg.concurrency, yield)
	}
}

// fetchStatuses yields the status of each task in order, fetching up to
// concurrency of them at once.
func (c *Client) fetchStatuses(ctx context.Context, batchID string, tasks []BatchTaskSummary, concurrency int, yield func(*TaskStatus, error) bool) {
	type result struct {
		st  *TaskStatus
		err error
	}
	results := make([]chan result, len(tasks))
	next := make(chan int, len(tasks))
	for i := range tasks {
		results[i] = make(chan result, 1)
		next <- i
	}
	close(next)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range min(concurrency, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					results[i] <- result{err: ctx.Err()}
					continue
				}
				st, err := c.GetBatchTaskStatus(ctx, batchID, tasks[i].ID)
				results[i] <- result{st, err}
			}
		}()
	}
	for i, task := range tasks {
		r := <-results[i]
		if r.err != nil {
			r.err = &BatchTaskStatusError{TaskID: task.ID, Err: r.err}
		}
		if !yield(r.st, r.err) {
			return
		}
	}
}

// DownloadResult streams the result file r to w and returns the number of
// bytes written. r.URL points at a storage host, not at the API: the request
// carries none of the API's credentials, and its query, a signature, appears
// in no error or log line. A non-2xx answer is an *APIError (a storage host
// answers 403 once the URL has expired: read the status again for a fresh
// one). Memory use does not depend on the file's size.
func (c *Client) DownloadResult(ctx context.Context, r Result, w io.Writer) (int64, error) {
	u, err := checkResultURL(r.URL, c.insecureHTTP)
	if err != nil {
		return 0, fmt.Errorf("dynamo: result %s: %w", r.ID, err)
	}
	resp, err := c.do(ctx, &request{method: http.MethodGet, resultURL: u})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("dynamo: downloading result %s: %w", r.ID, err)
	}
	return n, nil
}

// checkResultURL accepts an absolute https URL (http only on loopback, unless
// insecure) without user info; its query, which carries the signature of a
// temporary URL, is kept.
func checkResultURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("not a URL")
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, errors.New("not an absolute https URL")
	case u.User != nil:
		return nil, errors.New("URL must not contain user info")
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return nil, errors.New("plain http URL refused (use https, or WithInsecurePlainHTTP)")
	}
	return u, nil
}
