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

// DefaultStatusConcurrency is how many task statuses TaskStatuses fetches at
// once unless told otherwise.
const DefaultStatusConcurrency = 4

// TaskStatusesOption configures TaskStatuses.
type TaskStatusesOption func(*int)

// WithStatusConcurrency sets how many task statuses are fetched at once.
func WithStatusConcurrency(n int) TaskStatusesOption {
	return func(c *int) {
		if n > 0 {
			*c = n
		}
	}
}

// TaskState is one task's status as TaskStatuses yields it.
type TaskState struct {
	TaskID string
	*TaskStatus
}

// TaskStatuses reads the batch's task list, then yields the status of every
// task in the batch's order, fetching up to DefaultStatusConcurrency of them
// at once. A failure for one task is yielded with that task's ID and the
// iteration goes on; a failure to read the batch is yielded once, with an
// empty TaskState. Stopping the loop early cancels the fetches in flight.
func (c *Client) TaskStatuses(ctx context.Context, batchID string, opts ...TaskStatusesOption) iter.Seq2[TaskState, error] {
	concurrency := DefaultStatusConcurrency
	for _, opt := range opts {
		opt(&concurrency)
	}
	return func(yield func(TaskState, error) bool) {
		batch, err := c.GetBatchStatus(ctx, batchID)
		if err != nil {
			yield(TaskState{}, err)
			return
		}
		type result struct {
			st  *TaskStatus
			err error
		}
		results := make([]chan result, len(batch.Tasks))
		next := make(chan int, len(batch.Tasks))
		for i := range batch.Tasks {
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
		for range min(concurrency, len(batch.Tasks)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if ctx.Err() != nil {
						results[i] <- result{err: ctx.Err()}
						continue
					}
					st, err := c.GetTaskStatus(ctx, batchID, batch.Tasks[i].ID)
					results[i] <- result{st, err}
				}
			}()
		}
		for i, task := range batch.Tasks {
			r := <-results[i]
			if !yield(TaskState{TaskID: task.ID, TaskStatus: r.st}, r.err) {
				return
			}
		}
	}
}

// DownloadResult streams the result file r to w and returns the number of
// bytes written. r.URL points at a storage host, not at the API: the request
// carries none of the API's credentials. A non-2xx answer is an *APIError.
// Memory use does not depend on the file's size.
func (c *Client) DownloadResult(ctx context.Context, r Result, w io.Writer) (int64, error) {
	if err := checkResultURL(r.URL, c.insecureHTTP); err != nil {
		return 0, fmt.Errorf("dynamo: result %s: %w", r.ID, err)
	}
	resp, err := c.do(ctx, &request{method: http.MethodGet, url: r.URL, wantStatus: http.StatusOK})
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
func checkResultURL(raw string, insecureHTTP bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("not an absolute https URL")
	case u.User != nil:
		return errors.New("URL must not contain user info")
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return errors.New("plain http URL refused (use https, or WithInsecurePlainHTTP)")
	}
	return nil
}
