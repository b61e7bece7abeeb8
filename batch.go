package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
)

// MaxTasksPerBatch is the most tasks one batch may hold.
const MaxTasksPerBatch = 1000

const tooManyTasksPrefix = "too many tasks"

// Batch is a set of tasks that run the same template. It can be written as a
// literal or with NewBatch's builder; either way it is validated before
// anything is sent.
type Batch struct {
	// Template is the template's ID when the template is referenced
	// (PostBatch); it must be empty when the template is embedded
	// (PostBatchWithTemplate).
	Template string
	// Tasks run the template once each, 1 to MaxTasksPerBatch of them.
	Tasks []Task
	// Integration is the Salesforce session, or nil without Salesforce.
	Integration *Integration
	// Parts are extra JSON parts, sent as "param.<Name>" with an embedded
	// template only; a task receives one through its PartParams.
	Parts []Part
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
	// [A-Za-z0-9._-]+ and is unique within the batch.
	Name string
	// Value is encoded as JSON before the request starts. A *JSONStream
	// value is streamed from its source instead.
	Value any
}

// BatchResponse is the API's answer to an accepted batch.
type BatchResponse struct {
	ID           string   `json:"id"`           // the batch ID
	TaskIDs      []string `json:"tasks"`        // one task ID per posted task, in posted order
	Message      string   `json:"message"`      // "Success"
	LicenseUsage int      `json:"licenseUsage"` // batch tasks consumed from the licence
}

// wireBatch is the JSON the API receives: the whole body of a post by
// reference, or the "data" part of a post with an embedded template.
type wireBatch struct {
	Template    string           `json:"template,omitempty"`
	Tasks       []Task           `json:"tasks"`
	Integration *wireIntegration `json:"integration,omitempty"`
}

func (b *Batch) wire() wireBatch {
	return wireBatch{Template: b.Template, Tasks: b.Tasks, Integration: b.Integration.wire()}
}

// secrets returns what must never appear in what the SDK prints about b.
func (b *Batch) secrets() redactor {
	if b == nil || b.Integration == nil {
		return nil
	}
	return redactor{b.Integration.SessionID}
}

// form is how a batch is posted.
type form int

const (
	formAny       form = iota // as the batch's Template implies
	formReference             // JSON body, template by reference
	formEmbedded              // multipart body, template embedded
)

var partNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Validate reports every problem that would make the API refuse the batch, as
// a *ValidationError, or nil. It never touches the network. A batch with a
// Template is checked as a post by reference (PostBatch); one without, as a
// post with an embedded template (PostBatchWithTemplate).
func (b *Batch) Validate() error {
	return b.validate(formAny).err()
}

func (b *Batch) validate(f form) problems {
	var p problems
	if b == nil {
		p.add("batch", "is nil")
		return p
	}
	if f == formAny {
		f = formEmbedded
		if b.Template != "" {
			f = formReference
		}
	}
	switch {
	case f == formReference && b.Template == "":
		p.add("template", "is required when the template is not embedded")
	case f == formEmbedded && b.Template != "":
		p.add("template", "must be empty when the template is embedded")
	}
	switch n := len(b.Tasks); {
	case n == 0:
		p.add("tasks", "at least one task is required")
	case n > MaxTasksPerBatch:
		p.add("tasks", fmt.Sprintf("%s: %d, at most %d per batch", tooManyTasksPrefix, n, MaxTasksPerBatch))
	}
	parts := b.validateParts(f, &p)
	for i, t := range b.Tasks {
		t.validate(fmt.Sprintf("tasks[%d]", i), f, parts, &p)
	}
	b.Integration.validate(&p)
	return p
}

// validateParts checks the extra parts and returns the set of valid names.
func (b *Batch) validateParts(f form, p *problems) map[string]bool {
	if f == formReference {
		if len(b.Parts) > 0 {
			p.add("parts", "extra parts need an embedded template (PostBatchWithTemplate)")
		}
		return nil
	}
	names := make(map[string]bool, len(b.Parts))
	for i, part := range b.Parts {
		field := fmt.Sprintf("parts[%d]", i)
		switch {
		case !partNamePattern.MatchString(part.Name):
			p.add(field+".name", fmt.Sprintf("%q must match [A-Za-z0-9._-]+", part.Name))
		case names[part.Name]:
			p.add(field+".name", fmt.Sprintf("%q is used by an earlier part", part.Name))
		default:
			names[part.Name] = true
		}
		if _, ok := part.Value.(*JSONStream); !ok {
			if _, err := json.Marshal(part.Value); err != nil {
				p.add(field+".value", "cannot be encoded as JSON: "+err.Error())
			}
		}
	}
	return names
}

func (t Task) validate(field string, f form, parts map[string]bool, p *problems) {
	switch id, ok := t.Params["id"]; {
	case !ok:
		p.add(field+".params.id", "is required")
	case id == "":
		p.add(field+".params.id", "must not be empty")
	default:
		if _, isString := id.(string); !isString {
			p.add(field+".params.id", fmt.Sprintf("must be a string, not %T", id))
		}
	}
	keys := make([]string, 0, len(t.Params))
	for k := range t.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys) // problems in a stable order
	for _, k := range keys {
		if _, err := json.Marshal(t.Params[k]); err != nil {
			p.add(field+".params."+k, "cannot be encoded as JSON: "+err.Error())
		}
	}
	if len(t.PartParams) > 0 && f == formReference {
		p.add(field+".partParams", "partParams need an embedded template (PostBatchWithTemplate)")
		return
	}
	for j, pp := range t.PartParams {
		ppField := fmt.Sprintf("%s.partParams[%d]", field, j)
		switch {
		case pp.PartName == "":
			p.add(ppField+".partName", "is required")
		case !parts[pp.PartName]:
			p.add(ppField+".partName", fmt.Sprintf("no part named %q is attached", pp.PartName))
		}
		if pp.ParamName == "" {
			p.add(ppField+".paramName", "is required")
		}
	}
}

// PostBatch posts a batch whose template is given by reference (b.Template),
// as a JSON body. It validates b first and sends nothing when b is invalid.
//
// The post is sent again only when the server provably did not take it (the
// connection could not be made, 429 or 503). When the outcome is unknown the
// error matches ErrOutcomeUnknown and the batch may exist. When the API
// accepts the batch but lists a different number of task IDs, PostBatch
// returns the response together with a *TaskCountError.
func (c *Client) PostBatch(ctx context.Context, b *Batch) (*BatchResponse, error) {
	if err := b.validate(formReference).err(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(b.wire())
	if err != nil { // validation encodes every value, so this is not expected
		return nil, fmt.Errorf("dynamo: encoding batch: %w", err)
	}
	return c.postBatch(ctx, b, &request{
		contentType: "application/json",
		body:        bytesOpener(body),
		size:        int64(len(body)),
	})
}

// postBatch sends a prepared post through the request path and checks the
// answer against what was posted.
func (c *Client) postBatch(ctx context.Context, b *Batch, r *request) (*BatchResponse, error) {
	r.method = http.MethodPost
	r.path = "/v1/batch"
	r.secrets = b.secrets()
	r.wantStatus = http.StatusAccepted
	var resp BatchResponse
	if err := c.doJSON(ctx, r, &resp); err != nil {
		return nil, err
	}
	if len(resp.TaskIDs) != len(b.Tasks) {
		return &resp, &TaskCountError{Posted: len(b.Tasks), Response: &resp}
	}
	return &resp, nil
}
