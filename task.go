package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
)

// TaskRequest is one task for the Task API: one run of a template, for one
// Salesforce record or standalone, without a batch. It is validated before
// anything is sent.
//
// Like a Batch, a TaskRequest without an Integration encodes to JSON and
// back unchanged, one with an Integration fails to encode, and printing or
// logging one never shows the session.
type TaskRequest struct {
	// Template is the template's reference (with Salesforce, the Content
	// Document ID of the DAP file) for PostTask; it must be empty for
	// PostTaskWithTemplate, which embeds the template.
	Template string `json:"template,omitempty"`
	// Params are the template's parameters. With an Integration they must
	// hold a non-empty string "id", the record the task is for; standalone
	// they need none. Every value must be encodable as JSON.
	Params Params `json:"params,omitempty"`
	// Integration is the Salesforce session, or nil for a standalone task.
	Integration *Integration `json:"integration,omitempty"`
	// Parts are extra JSON parts, with an embedded template only: part
	// "param.<Name>" becomes the task's param <Name>. A part may not share
	// its name with a key of Params: the API does not say which would win.
	Parts []Part `json:"parts,omitempty"`
}

// LogValue implements slog.LogValuer: the template, the param keys, the
// integration (session redacted) and part names.
func (r TaskRequest) LogValue() slog.Value {
	return requestLogValue(r.Template, slog.Int("params", len(r.Params)), r.Integration, r.Parts)
}

// Validate reports every problem that would make the API refuse the task, as
// a *ValidationError, or nil. It never touches the network. A request with a
// Template is checked as a post by reference (PostTask); one without, as a
// post with an embedded template (PostTaskWithTemplate).
func (r *TaskRequest) Validate() error {
	p := r.validate(formAny)
	r.encodingProblems(&p)
	return p.err()
}

// validate checks everything but whether the values encode as JSON.
func (r *TaskRequest) validate(f form) problems {
	var p problems
	if r == nil {
		p.add("request", "is nil")
		return p
	}
	f = f.resolve(r.Template)
	validateTemplateRef(f, r.Template, "PostTaskWithTemplate", &p)
	validateID("params", r.Params, r.Integration != nil, &p)
	names := validateParts(r.Parts, f, "PostTaskWithTemplate", &p)
	for i, part := range r.Parts {
		if part.Name == "id" && names["id"] {
			p.add(fmt.Sprintf("parts[%d].name", i), `must not be "id": the part would replace the task's record ID`)
			delete(names, "id")
			continue
		}
		if _, clash := r.Params[part.Name]; clash && names[part.Name] {
			delete(names, part.Name) // said once, for the first part of the name
			p.add(fmt.Sprintf("parts[%d].name", i), fmt.Sprintf("%q is also a key of params: the API does not say which the task would see; rename one", part.Name))
		}
	}
	r.Integration.validate(&p)
	return p
}

func (r *TaskRequest) encodingProblems(p *problems) {
	if r == nil {
		return
	}
	paramsEncodingProblems("params", r.Params, p)
	partsEncodingProblems(r.Parts, p)
}

// taskJSON is the JSON the API receives for a task: the whole body of a post
// by reference, or the "data" part of a post with an embedded template (then
// without a template).
type taskJSON struct {
	Template    string           `json:"template,omitempty"`
	Params      json.RawMessage  `json:"params"`
	Integration *wireIntegration `json:"integration,omitempty"`
}

// encodeParams encodes a valid request's params, which the body holds with
// the session once it is had. When a value cannot be encoded, the error is a
// *ValidationError naming every such value.
func (r *TaskRequest) encodeParams() (json.RawMessage, error) {
	params := r.Params
	if params == nil {
		params = Params{}
	}
	data, err := json.Marshal(params)
	if err != nil {
		var p problems
		r.encodingProblems(&p)
		if len(p) == 0 { // not expected: every value encodes on its own
			return nil, fmt.Errorf("dynamo: encoding the task: %w", err)
		}
		return nil, p.err()
	}
	return data, nil
}

// taskBody is the task's JSON with template, its encoded params and the
// integration in.
func taskBody(template string, params json.RawMessage, in *Integration) []byte {
	return appendJSON(nil, taskJSON{Template: template, Params: params, Integration: in.wire()})
}

// TaskResponse is the API's answer to an accepted task.
type TaskResponse struct {
	TaskID  string `json:"taskID"`  // the task's ID, for GetTask and WaitTask
	Message string `json:"message"` // "Success"
	Usage   Usage  `json:"usage"`   // the organisation's consumption
}

// hasResult reports whether the answer gives the task ID.
func (r *TaskResponse) hasResult() bool { return r.TaskID != "" }

// Usage is the organisation's consumption of its licence, as the API reports
// it with an accepted task. A part the API leaves out, or sends in another
// shape, reads as zero: usage is for information, and never fails a post.
type Usage struct {
	API     UsageCount `json:"api"`     // API calls
	Signing UsageCount `json:"signing"` // electronic signatures
}

// UsageCount is one kind of consumption in the licence term.
type UsageCount struct {
	Term    int `json:"term"`    // used in the licence term
	TermMax int `json:"termMax"` // available in the licence term
}

// UnmarshalJSON reads the two counts of an object, whatever else it holds;
// anything that is not such an object reads as zero.
func (u *Usage) UnmarshalJSON(data []byte) error {
	// The documented shape decodes in one pass, into types of no methods;
	// only another one is read part by part.
	type count struct {
		Term    int `json:"term"`
		TermMax int `json:"termMax"`
	}
	var plain struct {
		API     count `json:"api"`
		Signing count `json:"signing"`
	}
	if json.Unmarshal(data, &plain) == nil {
		*u = Usage{API: UsageCount(plain.API), Signing: UsageCount(plain.Signing)}
		return nil
	}
	*u = Usage{}
	var v struct {
		API     json.RawMessage `json:"api"`
		Signing json.RawMessage `json:"signing"`
	}
	if json.Unmarshal(data, &v) == nil {
		_ = u.API.UnmarshalJSON(v.API)
		_ = u.Signing.UnmarshalJSON(v.Signing)
	}
	return nil
}

// UnmarshalJSON reads "term" and "termMax" when they are whole numbers;
// anything else reads as zero.
func (c *UsageCount) UnmarshalJSON(data []byte) error {
	type plain UsageCount
	if json.Unmarshal(data, (*plain)(c)) == nil { // the documented shape
		return nil
	}
	*c = UsageCount{}
	var v struct {
		Term    json.RawMessage `json:"term"`
		TermMax json.RawMessage `json:"termMax"`
	}
	if json.Unmarshal(data, &v) == nil {
		c.Term, c.TermMax = wholeNumber(v.Term), wholeNumber(v.TermMax)
	}
	return nil
}

func wholeNumber(raw json.RawMessage) int {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0
	}
	return int(f)
}

// String reads like "1 of 10000"; "unknown" when the API gave no maximum.
func (c UsageCount) String() string {
	if c.TermMax == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d of %d", c.Term, c.TermMax)
}

// PostTask posts one task whose template is given by reference
// (r.Template), as a JSON body, to the Task API. It validates r first and
// sends nothing when r is invalid. An Integration made by SalesforceFrom is
// asked for its session as the post is made; see SalesforceFrom.
//
// Retries and outcomes are those of PostBatch: a task post is not
// idempotent, so it is sent again only when the server provably did not
// take it, and an error matching ErrOutcomeUnknown means the task may exist.
// Any 2xx answer that gives the task ID is a success.
func (c *Client) PostTask(ctx context.Context, r *TaskRequest) (*TaskResponse, error) {
	p := r.validate(formReference)
	if r != nil {
		p = append(p, c.orgProblems(r.Integration)...)
	}
	if err := refuse(p, r.encodingProblems); err != nil {
		return nil, err
	}
	params, err := r.encodeParams()
	if err != nil {
		return nil, err
	}
	return c.postTask(ctx, r, func(in *Integration) (*request, error) {
		return jsonRequest(taskBody(r.Template, params, in)), nil
	})
}

// PostTaskWithTemplate posts one task with the template t embedded, as a
// multipart body streamed like PostBatchWithTemplate's: the template, the
// task's params and integration, then each of r.Parts as "param.<Name>".
// r.Template must be empty. Retries and outcomes are those of PostTask; a
// retry sends the whole body again, reopening the template.
func (c *Client) PostTaskWithTemplate(ctx context.Context, t Template, r *TaskRequest) (*TaskResponse, error) {
	p := r.validate(formEmbedded)
	t.validate(&p)
	if r != nil {
		p = append(p, c.orgProblems(r.Integration)...)
	}
	if err := refuse(p, r.encodingProblems); err != nil {
		return nil, err
	}
	params, paramsErr := r.encodeParams()
	parts, partsErr := encodeParts(r.Parts)
	if err := joinProblems(paramsErr, partsErr); err != nil {
		return nil, err
	}
	return c.postTask(ctx, r, func(in *Integration) (*request, error) {
		return multipartRequest(t, taskBody("", params, in), parts)
	})
}

// postTask sends a task post through the request path, its body made by
// encode with the post's session.
func (c *Client) postTask(ctx context.Context, r *TaskRequest, encode func(*Integration) (*request, error)) (*TaskResponse, error) {
	var resp TaskResponse
	req := &request{method: http.MethodPost, path: "/v1/task", integration: r.Integration, encode: encode, out: &resp}
	if _, err := c.do(ctx, req); err != nil {
		return nil, err
	}
	return &resp, nil
}

// GetTask returns the state of the Task API task taskID (an ID that starts
// with "t-", as PostTask returns). A task of a batch is read with
// GetBatchTaskStatus; GetTask's ErrNotFound for an ID without the "t-"
// prefix says so.
func (c *Client) GetTask(ctx context.Context, taskID string) (*TaskStatus, error) {
	if err := requireIDs("taskID", taskID); err != nil {
		return nil, err
	}
	st, err := c.getTaskStatus(ctx, "/v1/task/"+url.PathEscape(taskID), taskID)
	if err != nil && !strings.HasPrefix(taskID, "t-") && errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w; a Task API task ID starts with \"t-\": a batch's task is read with GetBatchTaskStatus", err)
	}
	return st, err
}

// WaitTask polls the status of the Task API task taskID, with WaitBatch's
// backoff, until it is completed, and returns that last status. A task
// completed with errors is not an error of WaitTask: the status says Errors.
// WithTaskProgress reports every status read. An unknown or expired task
// fails with ErrNotFound; a done context ends the wait at once with the
// context's error.
func (c *Client) WaitTask(ctx context.Context, taskID string, opts ...WaitTaskOption) (*TaskStatus, error) {
	cfg, err := waitOptions("WaitTask", opts, WaitTaskOption.applyWaitTask)
	if err != nil {
		return nil, err
	}
	return poll(ctx, c, &cfg, "task "+taskID,
		func(ctx context.Context) (*TaskStatus, error) { return c.GetTask(ctx, taskID) },
		func(st *TaskStatus) bool { return st.Completed }, cfg.taskProgress)
}
