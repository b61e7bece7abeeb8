package dynamo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Timestamp is a date from the API. The API writes RFC 3339 with fractional
// seconds; a value in any other form leaves Time zero and keeps the text in
// Raw, so an unexpected date never fails a call.
type Timestamp struct {
	time.Time
	Raw string // the text as received; empty when absent
}

// UnmarshalJSON accepts a string in RFC 3339 form, any other string (kept in
// Raw), or null.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	*t = Timestamp{}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		if string(data) == "null" {
			return nil
		}
		t.Raw = string(data)
		return nil
	}
	t.Raw = s
	if parsed, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.Time = parsed
	}
	return nil
}

// MarshalJSON writes the raw text back, or null when absent.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.Raw == "" && t.Time.IsZero() {
		return []byte("null"), nil
	}
	if t.Raw == "" {
		return json.Marshal(t.Time.Format(time.RFC3339Nano))
	}
	return json.Marshal(t.Raw)
}

// BatchStatus is the state of a batch. It is available for 24 hours after the
// batch was posted; later, GetBatchStatus fails with ErrNotFound.
type BatchStatus struct {
	PostDateTime      Timestamp `json:"postDateTime"`
	CompletedDateTime Timestamp `json:"completedDateTime"`
	// Completed is true once every task was processed, with or without errors.
	Completed bool `json:"completed"`
	// Errors is true when the batch had a processing error or a task failed.
	Errors bool `json:"errors"`
	// StatusMessage is "Waiting", "Started", "Completed" or an error message.
	StatusMessage string        `json:"statusMessage"`
	Tasks         []TaskSummary `json:"tasks"`
}

// TaskSummary is one task's state within a BatchStatus.
type TaskSummary struct {
	ID        string `json:"id"`
	Completed bool   `json:"completed"`
	Errors    bool   `json:"errors"`
}

// TaskStatus is the state of one task of a batch.
type TaskStatus struct {
	StartDateTime Timestamp `json:"startDateTime"`
	EndDateTime   Timestamp `json:"endDateTime"`
	Completed     bool      `json:"completed"`
	Errors        bool      `json:"errors"`
	// StatusMessage is "Queued", "Running", "Ready" or "Completed", or an
	// error message.
	StatusMessage string `json:"statusMessage"`
	// Log holds the compose log's SEVERE entries; an entry that is not a JSON
	// string is kept as its JSON text.
	Log []string `json:"log"`
	// Results are the IDs of the files the template stored.
	Results []string `json:"results"`
	// ResultList pairs each result with a temporary download URL.
	ResultList []Result `json:"resultList"`
}

// UnmarshalJSON reads the documented fields, taking the log from "log" or
// "logs" (the API documents one and shows the other).
func (s *TaskStatus) UnmarshalJSON(data []byte) error {
	type plain TaskStatus
	var v struct {
		plain
		Log  []json.RawMessage `json:"log"`
		Logs []json.RawMessage `json:"logs"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = TaskStatus(v.plain)
	s.Log = nil
	for _, raw := range append(v.Log, v.Logs...) {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			text = string(raw)
		}
		s.Log = append(s.Log, text)
	}
	return nil
}

// Result is a file the template stored.
type Result struct {
	ID string `json:"id"`
	// URL is a temporary download URL (valid about an hour) on a storage
	// host, not on the API; DownloadResult fetches it without credentials.
	URL string `json:"url"`
}

// GetBatchStatus returns the state of the batch batchID.
func (c *Client) GetBatchStatus(ctx context.Context, batchID string) (*BatchStatus, error) {
	if err := requireIDs("batchID", batchID); err != nil {
		return nil, err
	}
	var st BatchStatus
	err := c.doJSON(ctx, &request{
		method:     http.MethodGet,
		path:       "/v1/batch/" + url.PathEscape(batchID),
		wantStatus: http.StatusOK,
	}, &st)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// GetTaskStatus returns the state of the task taskID of batch batchID.
func (c *Client) GetTaskStatus(ctx context.Context, batchID, taskID string) (*TaskStatus, error) {
	if err := requireIDs("batchID", batchID, "taskID", taskID); err != nil {
		return nil, err
	}
	var st TaskStatus
	err := c.doJSON(ctx, &request{
		method:     http.MethodGet,
		path:       "/v1/batch/" + url.PathEscape(batchID) + "/" + url.PathEscape(taskID),
		wantStatus: http.StatusOK,
	}, &st)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// requireIDs checks that each named ID (given as name, value pairs) is set.
func requireIDs(namesAndValues ...string) error {
	var p problems
	for i := 0; i+1 < len(namesAndValues); i += 2 {
		if namesAndValues[i+1] == "" {
			p.add(namesAndValues[i], "is required")
		}
	}
	return p.err()
}
