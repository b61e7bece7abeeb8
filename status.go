package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"
	"unicode/utf8"
)

// Timestamp is a date from the API. The API writes RFC 3339 in UTC as Java's
// Instant.toString does (0, 3, 6 or 9 fraction digits, as few as the instant
// needs); any RFC 3339 form is read. A value in any other form leaves Time
// zero and keeps the text in Raw, so an unexpected date never fails a call.
//
// A Timestamp prints, and encodes to JSON or text, as the text it was read
// from: its Raw text, or, when it has none, its Time in RFC 3339. A
// Timestamp read from JSON encodes back to the same JSON.
type Timestamp struct {
	time.Time
	Raw string // the text as received; empty when absent
}

// UnmarshalJSON accepts a string in RFC 3339 form, any other string (kept in
// Raw), or null.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	// The API's dates are plain strings, and an absent one is null: both
	// are read without a second pass of the JSON decoder, which would
	// allocate several times per date.
	if text, ok := plainJSONString(data); ok {
		return t.UnmarshalText(text)
	}
	*t = Timestamp{}
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		t.Raw = string(data)
		return nil
	}
	return t.UnmarshalText([]byte(s))
}

// plainJSONString returns the content of data when data is a JSON string of
// printable ASCII without escapes, whose value is then its bytes as they
// are.
func plainJSONString(data []byte) ([]byte, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return nil, false
	}
	text := data[1 : len(data)-1]
	for _, c := range text {
		if c < ' ' || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return text, true
}

// UnmarshalText reads text as UnmarshalJSON reads a string.
func (t *Timestamp) UnmarshalText(text []byte) error {
	*t = Timestamp{Raw: string(text)}
	if parsed, err := time.Parse(time.RFC3339Nano, t.Raw); err == nil {
		t.Time = parsed
	}
	return nil
}

// MarshalJSON writes the text back as a string, or null when absent.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsAbsent() {
		return []byte("null"), nil
	}
	return json.Marshal(t.String())
}

// MarshalText writes the text back; empty when absent.
func (t Timestamp) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// IsAbsent reports that the API gave no date.
func (t Timestamp) IsAbsent() bool { return t.Raw == "" && t.Time.IsZero() }

// String returns the text as received, or Time in RFC 3339 when there is no
// text; "" when absent.
func (t Timestamp) String() string {
	switch {
	case t.Raw != "":
		return t.Raw
	case t.Time.IsZero():
		return ""
	}
	return t.Time.Format(time.RFC3339Nano)
}

// GoString returns a Go-syntax form showing both fields.
func (t Timestamp) GoString() string {
	return fmt.Sprintf("dynamo.Timestamp{Time:%s, Raw:%q}", t.Time.GoString(), t.Raw)
}

// The documented values of BatchStatus.StatusMessage; any other value is an
// error message.
const (
	BatchStatusWaiting   = "Waiting"   // posted, no task started
	BatchStatusStarted   = "Started"   // some task started
	BatchStatusCompleted = "Completed" // every task processed, with or without errors
)

// The documented values of TaskStatus.StatusMessage; any other value is an
// error message. A batch's task goes Queued, Running, then Ready or
// Completed; a Task API task goes Received, Queued, Running, then Ready.
const (
	TaskStatusReceived  = "Received"  // Task API: accepted, not yet queued
	TaskStatusQueued    = "Queued"    // waiting for a worker
	TaskStatusRunning   = "Running"   // being processed
	TaskStatusReady     = "Ready"     // processed; the results are available
	TaskStatusCompleted = "Completed" // a batch's task: processed
)

// BatchStatus is the state of a batch. It is available for 24 hours after the
// batch was posted; later, GetBatchStatus fails with ErrNotFound.
type BatchStatus struct {
	PostDateTime      Timestamp `json:"postDateTime"`
	CompletedDateTime Timestamp `json:"completedDateTime"`
	// Completed is true once every task was processed, with or without errors.
	Completed bool `json:"completed"`
	// Errors is true when the batch had a processing error or a task failed.
	Errors bool `json:"errors"`
	// StatusMessage is BatchStatusWaiting, BatchStatusStarted,
	// BatchStatusCompleted or an error message.
	StatusMessage string             `json:"statusMessage"`
	Tasks         []BatchTaskSummary `json:"tasks"`
}

// BatchTaskSummary is one task's state within a BatchStatus.
type BatchTaskSummary struct {
	ID        string `json:"id"`
	Completed bool   `json:"completed"`
	Errors    bool   `json:"errors"`
}

// TaskStatus is the state of one task: a task of a batch (GetBatchTaskStatus)
// or a task of the Task API (GetTask).
type TaskStatus struct {
	// TaskID is the ID of the task the status is of, as asked for; the API
	// does not send it.
	TaskID        string    `json:"taskID,omitempty"`
	StartDateTime Timestamp `json:"startDateTime"`
	EndDateTime   Timestamp `json:"endDateTime"`
	// Completed is true once the task was processed, with or without errors.
	Completed bool `json:"completed"`
	// Errors is true when the completed task failed.
	Errors bool `json:"errors"`
	// StatusMessage is TaskStatusQueued, TaskStatusRunning, TaskStatusReady
	// or TaskStatusCompleted for a task of a batch; TaskStatusReceived,
	// TaskStatusQueued, TaskStatusRunning or TaskStatusReady for a task
	// of the Task API; or an error message.
	StatusMessage string `json:"statusMessage"`
	// StatusDescription describes the state in words (Task API only).
	StatusDescription string `json:"statusDescription,omitempty"`
	// Log holds the compose log's SEVERE entries; an entry that is not a JSON
	// string is kept as its JSON text.
	Log []string `json:"log"`
	// Results are the IDs of the files the template stored.
	Results []string `json:"results"`
	// ResultList pairs each result with a temporary download URL.
	ResultList []Result `json:"resultList"`
}

// LogValue implements slog.LogValuer: the task's state and its results,
// whose URLs are logged without their signed query.
func (s TaskStatus) LogValue() slog.Value {
	results := make([]string, len(s.ResultList))
	for i, r := range s.ResultList {
		results[i] = r.String()
	}
	return slog.GroupValue(
		slog.String("taskID", s.TaskID),
		slog.String("statusMessage", s.StatusMessage),
		slog.Bool("completed", s.Completed),
		slog.Bool("errors", s.Errors),
		slog.Any("resultList", results),
	)
}

// UnmarshalJSON reads the documented fields, taking the log from "log" or
// "logs" (the API documents one and shows the other).
func (s *TaskStatus) UnmarshalJSON(data []byte) error {
	var st TaskStatus
	v := st.decoding()
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	v.takeLog()
	*s = st
	return nil
}

// taskStatusJSON decodes a task status into the TaskStatus it points to,
// keeping the log's entries of either name aside for takeLog. The request
// path decodes an answer into it directly: through UnmarshalJSON, the
// decoder would check and walk every status twice.
type taskStatusJSON struct {
	*plainTaskStatus
	Log  []json.RawMessage `json:"log"`
	Logs []json.RawMessage `json:"logs"`
}

// plainTaskStatus has the fields of TaskStatus without its UnmarshalJSON.
type plainTaskStatus TaskStatus

func (s *TaskStatus) decoding() *taskStatusJSON {
	return &taskStatusJSON{plainTaskStatus: (*plainTaskStatus)(s)}
}

// takeLog sets the status's log from the entries of both names.
func (v *taskStatusJSON) takeLog() {
	s := v.plainTaskStatus
	s.Log = nil
	if v.Log != nil || v.Logs != nil { // an empty log stays empty, not absent
		s.Log = make([]string, 0, len(v.Log)+len(v.Logs))
	}
	for _, raw := range append(v.Log, v.Logs...) {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			text = string(raw)
		}
		s.Log = append(s.Log, text)
	}
}

// Result is a file the template stored.
//
// Its URL is signed: whoever holds it can download the file until it
// expires. Formatting a Result with fmt or logging it through log/slog shows
// the URL's host and path only, never its query; encoding/json keeps it
// whole.
type Result struct {
	ID string `json:"id"`
	// URL is a temporary download URL (valid about an hour) on a storage
	// host, not on the API; DownloadResult fetches it without credentials.
	URL string `json:"url"`
}

// String returns the result with its URL's query left out.
func (r Result) String() string {
	return fmt.Sprintf("{ID:%s URL:%s}", r.ID, unsignedURL(r.URL))
}

// GoString returns a Go-syntax form with the URL's query left out.
func (r Result) GoString() string {
	return fmt.Sprintf("dynamo.Result{ID:%q, URL:%q}", r.ID, unsignedURL(r.URL))
}

// Format implements fmt.Formatter so that no verb shows the URL's query.
func (r Result) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, r.String(), r.GoString())
}

// LogValue implements slog.LogValuer with the URL's query left out.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("url", unsignedURL(r.URL)))
}

// unsignedURL is raw without its query and fragment, which may carry a
// signature; a URL that does not parse is not shown at all.
func unsignedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(result URL)"
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "", false
		u.Fragment, u.RawFragment = "", ""
		return u.String() + "?[REDACTED]"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// GetBatchStatus returns the state of the batch batchID.
func (c *Client) GetBatchStatus(ctx context.Context, batchID string) (*BatchStatus, error) {
	if err := requireIDs("batchID", batchID); err != nil {
		return nil, err
	}
	var st BatchStatus
	if err := c.getJSON(ctx, "/v1/batch/"+url.PathEscape(batchID), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// GetBatchTaskStatus returns the state of the task taskID of batch batchID.
func (c *Client) GetBatchTaskStatus(ctx context.Context, batchID, taskID string) (*TaskStatus, error) {
	if err := requireIDs("batchID", batchID, "taskID", taskID); err != nil {
		return nil, err
	}
	return c.getTaskStatus(ctx, "/v1/batch/"+url.PathEscape(batchID)+"/"+url.PathEscape(taskID), taskID)
}

// getTaskStatus reads the status of the task taskID at path.
func (c *Client) getTaskStatus(ctx context.Context, path, taskID string) (*TaskStatus, error) {
	st := &TaskStatus{}
	v := st.decoding()
	if err := c.getJSON(ctx, path, v); err != nil {
		return nil, err
	}
	v.takeLog()
	st.TaskID = taskID
	return st, nil
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
