package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// MaxTasksPerBatch is the most tasks one batch may hold.
const MaxTasksPerBatch = 1000

// Batch is a set of tasks that run the same template. It can be written as a
// literal or with NewBatch's builder; either way it is validated before
// anything is sent.
//
// A Batch without an Integration encodes to JSON and back unchanged, so that
// it can be stored (in a job queue, say) and posted later. One with an
// Integration, or with a part streamed from a JSONStream, fails to encode
// rather than lose something or store a session (see Integration). Printing
// or logging a Batch never shows the session.
type Batch struct {
	// Template is the template's ID when the template is referenced
	// (PostBatch); it must be empty when the template is embedded
	// (PostBatchWithTemplate).
	Template string `json:"template,omitempty"`
	// Tasks run the template once each, 1 to MaxTasksPerBatch of them.
	Tasks []Task `json:"tasks"`
	// Integration is the Salesforce session, or nil without Salesforce.
	Integration *Integration `json:"integration,omitempty"`
	// Parts are extra JSON parts, sent as "param.<Name>" with an embedded
	// template only; a task receives one through its PartParams.
	Parts []Part `json:"parts,omitempty"`
}

// LogValue implements slog.LogValuer: the batch's template, task count,
// integration (session redacted) and part names. Without it, a JSON log
// handler would encode the batch, session included.
func (b Batch) LogValue() slog.Value {
	return requestLogValue(b.Template, slog.Int("tasks", len(b.Tasks)), b.Integration, b.Parts)
}

// requestLogValue is how a batch or task request is logged: never with its
// session, nor its params' values.
func requestLogValue(template string, count slog.Attr, in *Integration, parts []Part) slog.Value {
	attrs := []slog.Attr{slog.String("template", template), count}
	if in != nil {
		attrs = append(attrs, slog.Any("integration", in.LogValue()))
	}
	if len(parts) > 0 {
		names := make([]string, len(parts))
		for i, p := range parts {
			names[i] = p.Name
		}
		attrs = append(attrs, slog.Any("parts", names))
	}
	return slog.GroupValue(attrs...)
}

// Task is one run of the template, with its own parameters.
type Task struct {
	Params     Params      `json:"params"`
	PartParams []PartParam `json:"partParams,omitempty"`
}

// Params are a task's template parameters; the template sees them in its
// "param" map. They must hold a non-empty string "id", the Salesforce record
// the task is for, and every value must be encodable as JSON.
type Params map[string]any

// PartParam puts the JSON of the part named PartName into the task's params
// under ParamName. When several map to one ParamName, the later one wins.
type PartParam struct {
	PartName  string `json:"partName"`  // the part's name, without "param."
	ParamName string `json:"paramName"` // the key in the task's params
}

// Part is an extra JSON part of a post with an embedded template.
type Part struct {
	// Name is the part's name without the "param." prefix; it matches
	// [A-Za-z0-9._-]+ and is unique within the request.
	Name string `json:"name"`
	// Value is encoded as JSON before the request starts. A *JSONStream
	// value is streamed from its source instead.
	Value any `json:"value"`
}

// BatchResponse is the API's answer to an accepted batch.
type BatchResponse struct {
	ID           string   `json:"id"`           // the batch ID
	TaskIDs      []string `json:"tasks"`        // one task ID per posted task, in posted order
	Message      string   `json:"message"`      // "Success"
	LicenseUsage int      `json:"licenseUsage"` // batch tasks consumed from the licence
}

// hasResult reports whether the answer gives the batch ID.
func (r *BatchResponse) hasResult() bool { return r.ID != "" }

// secrets returns what must never appear in what the SDK prints about b.
func (b *Batch) secrets() redactor {
	if b == nil {
		return nil
	}
	return b.Integration.secrets()
}

// Validate reports every problem that would make the API refuse the batch, as
// a *ValidationError, or nil. It never touches the network. A batch with a
// Template is checked as a post by reference (PostBatch); one without, as a
// post with an embedded template (PostBatchWithTemplate).
func (b *Batch) Validate() error {
	p := b.validate(formAny)
	b.encodingProblems(&p)
	return p.err()
}

// validate checks everything but whether the values encode as JSON.
func (b *Batch) validate(f form) problems {
	var p problems
	if b == nil {
		p.add("batch", "is nil")
		return p
	}
	f = f.resolve(b.Template)
	validateTemplateRef(f, b.Template, "PostBatchWithTemplate", &p)
	switch n := len(b.Tasks); {
	case n == 0:
		p.add("tasks", "at least one task is required")
	case n > MaxTasksPerBatch:
		p = append(p, Problem{Field: "tasks", Message: fmt.Sprintf("too many tasks: %d, at most %d per batch", n, MaxTasksPerBatch), Err: ErrTooManyTasks})
	}
	parts := validateParts(b.Parts, f, "PostBatchWithTemplate", &p)
	for i, t := range b.Tasks {
		t.validate(i, f, parts, &p)
	}
	b.Integration.validate(&p)
	return p
}

// encodingProblems names every value of b that cannot be encoded as JSON.
func (b *Batch) encodingProblems(p *problems) {
	if b == nil {
		return
	}
	for i, t := range b.Tasks {
		paramsEncodingProblems(fmt.Sprintf("tasks[%d].params", i), t.Params, p)
	}
	partsEncodingProblems(b.Parts, p)
}

// validate checks the task at index i of its batch. A field's name is
// spelled out only for a problem, so that checking a valid batch of 1000
// tasks builds no strings.
func (t Task) validate(i int, f form, parts map[string]bool, p *problems) {
	field := func() string { return fmt.Sprintf("tasks[%d]", i) }
	// validateID has nothing to say of a non-empty string.
	if id, ok := t.Params["id"].(string); !ok || id == "" {
		validateID(field()+".params", t.Params, true, p)
	}
	if len(t.PartParams) > 0 && f == formReference {
		p.add(field()+".partParams", "partParams need an embedded template (PostBatchWithTemplate)")
		return
	}
	for j, pp := range t.PartParams {
		ppField := func() string { return fmt.Sprintf("%s.partParams[%d]", field(), j) }
		switch {
		case pp.PartName == "":
			p.add(ppField()+".partName", "is required")
		case !parts[pp.PartName]:
			p.add(ppField()+".partName", fmt.Sprintf("no part named %q is attached", pp.PartName))
		}
		switch pp.ParamName {
		case "":
			p.add(ppField()+".paramName", "is required")
		case "id":
			p.add(ppField()+".paramName", `must not be "id": the part would replace the task's record ID`)
		}
	}
}

// encodeTasks encodes tasks as the JSON array the API receives. When a value
// cannot be encoded, the error is a *ValidationError naming every such value,
// its fields numbered from first.
func encodeTasks(tasks []Task, first int) ([]byte, error) {
	data, err := json.Marshal(tasks)
	if err == nil {
		return data, nil
	}
	var p problems
	for i, t := range tasks {
		paramsEncodingProblems(fmt.Sprintf("tasks[%d].params", first+i), t.Params, &p)
	}
	if len(p) == 0 { // not expected: every value encodes on its own
		return nil, fmt.Errorf("dynamo: encoding tasks: %w", err)
	}
	return nil, p.err()
}

// batchJSON is the JSON the API receives for a batch: the whole body of a
// post by reference, or the "data" part of a post with an embedded
// template (then without a template). tasks is the tasks' encoding, so that
// they are encoded once.
func batchJSON(template string, tasks []byte, in *Integration) []byte {
	buf := make([]byte, 0, len(tasks)+len(template)+256)
	buf = append(buf, '{')
	if template != "" {
		buf = append(buf, `"template":`...)
		buf = appendJSON(buf, template)
		buf = append(buf, ',')
	}
	buf = append(buf, `"tasks":`...)
	buf = append(buf, tasks...)
	if in != nil {
		buf = append(buf, `,"integration":`...)
		buf = appendJSON(buf, in.wire())
	}
	return append(buf, '}')
}

// appendJSON appends the encoding of v, a value that always encodes.
func appendJSON(buf []byte, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic("dynamo: encoding " + fmt.Sprintf("%T", v) + ": " + err.Error())
	}
	return append(buf, data...)
}

// PostBatch posts a batch whose template is given by reference (b.Template),
// as a JSON body. It validates b first and sends nothing when b is invalid.
// An Integration made by SalesforceFrom is asked for its session as the
// post is made; see SalesforceFrom.
//
// The post is sent again only when the server provably did not take it (the
// connection could not be made, 429 or 503). When the outcome is unknown the
// error matches ErrOutcomeUnknown and the batch may exist. Any 2xx answer
// that gives the batch ID is a success. When the API accepts the batch but
// lists a different number of task IDs, PostBatch returns the response
// together with a *BatchTaskCountError.
func (c *Client) PostBatch(ctx context.Context, b *Batch) (*BatchResponse, error) {
	p := b.validate(formReference)
	if b != nil {
		p = append(p, c.orgProblems(b.Integration)...)
	}
	if err := refuse(p, b.encodingProblems); err != nil {
		return nil, err
	}
	tasks, err := encodeTasks(b.Tasks, 0)
	if err != nil {
		return nil, err
	}
	return c.postReference(ctx, b, tasks)
}

// postReference posts a valid batch by reference whose tasks encode as
// tasks.
func (c *Client) postReference(ctx context.Context, b *Batch, tasks []byte) (*BatchResponse, error) {
	return c.postBatch(ctx, b, func(in *Integration) (*request, error) {
		return jsonRequest(batchJSON(b.Template, tasks, in)), nil
	})
}

// jsonRequest is the body of a post by reference.
func jsonRequest(body []byte) *request {
	return &request{contentType: "application/json", data: body, size: int64(len(body))}
}

// postBatch sends a batch post through the request path, its body made by
// encode with the post's session, and checks the answer against what was
// posted.
func (c *Client) postBatch(ctx context.Context, b *Batch, encode func(*Integration) (*request, error)) (*BatchResponse, error) {
	var resp BatchResponse
	r := &request{method: http.MethodPost, path: "/v1/batch", integration: b.Integration, encode: encode, out: &resp}
	if _, err := c.do(ctx, r); err != nil {
		return nil, err
	}
	if len(resp.TaskIDs) != len(b.Tasks) {
		return &resp, &BatchTaskCountError{Posted: len(b.Tasks), Response: &resp}
	}
	return &resp, nil
}
