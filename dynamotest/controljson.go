package dynamotest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The JSON the control API reads and writes. Dates are written as the API writes
// them (see formatTime) and read in any RFC 3339 form; durations are Go duration
// strings such as "1.5s".

// stageNames are the control API's names of the Stages.
var stageNames = map[Stage]string{
	StagePosted:  "posted",
	StageQueued:  "queued",
	StageRunning: "running",
	StageDone:    "done",
	StageFailed:  "failed",
}

func stageName(st Stage) string {
	if name, ok := stageNames[st]; ok {
		return name
	}
	return st.String()
}

func parseStage(name string) (Stage, bool) {
	if name == "" {
		return StagePosted, true
	}
	for st, n := range stageNames {
		if n == name {
			return st, true
		}
	}
	return 0, false
}

// resultJSON is a result file: its content as text, or as base64 for bytes that are
// not text. A snapshot gives its size instead.
type resultJSON struct {
	ID            string `json:"id"`
	Content       string `json:"content,omitempty"`
	ContentBase64 string `json:"contentBase64,omitempty"`
}

type resultInfoJSON struct {
	ID   string `json:"id"`
	Size int    `json:"size"`
}

func resultFiles(in []resultJSON, where string) ([]ResultFile, *reply) {
	out := make([]ResultFile, len(in))
	for i, r := range in {
		content := []byte(r.Content)
		if r.ContentBase64 != "" {
			if r.Content != "" {
				return nil, errorReply(http.StatusBadRequest, "%s[%d]: content and contentBase64 exclude each other", where, i)
			}
			b, err := base64.StdEncoding.DecodeString(r.ContentBase64)
			if err != nil {
				return nil, errorReply(http.StatusBadRequest, "%s[%d].contentBase64: %v", where, i, err)
			}
			content = b
		}
		out[i] = ResultFile{ID: r.ID, Content: content}
	}
	return out, nil
}

type completeJSON struct {
	Results []resultJSON `json:"results"`
}

func (c completeJSON) files() ([]ResultFile, *reply) { return resultFiles(c.Results, "results") }

type failJSON struct {
	Message string `json:"message"`
}

type clockJSON struct {
	Advance string `json:"advance"`
}

// taskSeedJSON is a BatchTaskSeed, and the progress of a TaskSeed.
type taskSeedJSON struct {
	Params  map[string]any `json:"params"`
	Stage   string         `json:"stage"`
	Failure string         `json:"failure"`
	Results []resultJSON   `json:"results"`
}

func (in taskSeedJSON) seed(where string) (BatchTaskSeed, *reply) {
	st, ok := parseStage(in.Stage)
	if !ok {
		return BatchTaskSeed{}, errorReply(http.StatusBadRequest, "%s.stage: unknown stage %q: posted, queued, running, done or failed", where, in.Stage)
	}
	results, rep := resultFiles(in.Results, where+".results")
	if rep != nil {
		return BatchTaskSeed{}, rep
	}
	return BatchTaskSeed{Params: in.Params, Stage: st, Failure: in.Failure, Results: results}, nil
}

func parseSeedTime(s string) (time.Time, *reply) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorReply(http.StatusBadRequest, "postedAt: %q is not an RFC 3339 date", s)
	}
	return t, nil
}

// batchSeedJSON is a BatchSeed.
type batchSeedJSON struct {
	Template    string         `json:"template"`
	Integration map[string]any `json:"integration"`
	PostedAt    string         `json:"postedAt"`
	Tasks       []taskSeedJSON `json:"tasks"`
}

func (in batchSeedJSON) seed() (BatchSeed, *reply) {
	postedAt, rep := parseSeedTime(in.PostedAt)
	if rep != nil {
		return BatchSeed{}, rep
	}
	out := BatchSeed{Template: in.Template, Integration: in.Integration, PostedAt: postedAt}
	for i, t := range in.Tasks {
		ts, rep := t.seed(fmt.Sprintf("tasks[%d]", i))
		if rep != nil {
			return BatchSeed{}, rep
		}
		out.Tasks = append(out.Tasks, ts)
	}
	return out, nil
}

// taskSeedBodyJSON is a TaskSeed.
type taskSeedBodyJSON struct {
	Template    string         `json:"template"`
	Integration map[string]any `json:"integration"`
	PostedAt    string         `json:"postedAt"`
	taskSeedJSON
}

func (in taskSeedBodyJSON) seed() (TaskSeed, *reply) {
	postedAt, rep := parseSeedTime(in.PostedAt)
	if rep != nil {
		return TaskSeed{}, rep
	}
	ts, rep := in.taskSeedJSON.seed("task")
	if rep != nil {
		return TaskSeed{}, rep
	}
	return TaskSeed{Template: in.Template, Integration: in.Integration, PostedAt: postedAt,
		Params: ts.Params, Stage: ts.Stage, Failure: ts.Failure, Results: ts.Results}, nil
}

// faultJSON is a Fault. Hold names a hold that POST holds/{name}/release releases.
type faultJSON struct {
	Delay           string                  `json:"delay"`
	DropBeforeRead  bool                    `json:"dropBeforeRead"`
	Hang            bool                    `json:"hang"`
	Status          int                     `json:"status"`
	Body            string                  `json:"body"`
	SuccessStatus   int                     `json:"successStatus"`
	Header          map[string]headerValues `json:"header"`
	Hold            string                  `json:"hold"`
	DropAfterAccept bool                    `json:"dropAfterAccept"`
}

// headerValues reads a header's values as one string or a list of them.
type headerValues []string

func (h *headerValues) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*h = headerValues{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("a header's value must be a string or a list of strings")
	}
	*h = list
	return nil
}

// fault returns the Fault fj describes, without its Hold; problem says what is wrong.
func (fj faultJSON) fault() (f Fault, problem string) {
	if fj.Delay != "" {
		d, err := time.ParseDuration(fj.Delay)
		if err != nil {
			return Fault{}, fmt.Sprintf("delay: %v", err)
		}
		f.Delay = d
	}
	if fj.Hold != "" && strings.ContainsAny(fj.Hold, "/?#%") {
		return Fault{}, fmt.Sprintf("hold %q: a name cannot hold '/', '?', '#' or '%%'", fj.Hold)
	}
	f.DropBeforeRead = fj.DropBeforeRead
	f.Hang = fj.Hang
	f.Status = fj.Status
	f.Body = fj.Body
	f.SuccessStatus = fj.SuccessStatus
	f.DropAfterAccept = fj.DropAfterAccept
	if len(fj.Header) > 0 {
		f.Header = make(http.Header, len(fj.Header))
		for k, vs := range fj.Header {
			for _, v := range vs {
				f.Header.Add(k, v)
			}
		}
	}
	return f, ""
}

type injectJSON struct {
	Route  string      `json:"route"`
	Faults []faultJSON `json:"faults"`
}

// templateJSON is a TemplateInfo.
type templateJSON struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

func templateOf(t *TemplateInfo) *templateJSON {
	if t == nil {
		return nil
	}
	return &templateJSON{FileName: t.FileName, ContentType: t.ContentType, Size: t.Size, SHA256: t.SHA256}
}

// progressJSON is what a snapshot tells of a task's progress, in both APIs.
type progressJSON struct {
	Stage             string           `json:"stage"`
	Started           bool             `json:"started"`
	Completed         bool             `json:"completed"`
	Errors            bool             `json:"errors"`
	StatusMessage     string           `json:"statusMessage"`
	StatusDescription string           `json:"statusDescription,omitempty"`
	StartedAt         string           `json:"startedAt,omitempty"`
	EndedAt           string           `json:"endedAt,omitempty"`
	Log               []string         `json:"log"`
	Results           []resultInfoJSON `json:"results"`
}

// progressOf describes the progress of a snapshot's task; message (and, for a Task
// API task, description) is its status as the API writes it.
func progressOf(stage Stage, message, description string, startedAt, endedAt time.Time, log []string, results []ResultFile) progressJSON {
	p := progress{stage: stage}
	out := progressJSON{
		Stage: stageName(stage), Started: p.started(), Completed: p.completed(), Errors: p.failed(),
		StatusMessage: message, StatusDescription: description,
		StartedAt: formatTime(startedAt), EndedAt: formatTime(endedAt),
		Log: append([]string{}, log...), Results: []resultInfoJSON{},
	}
	for _, r := range results {
		out.Results = append(out.Results, resultInfoJSON{ID: r.ID, Size: len(r.Content)})
	}
	return out
}

type partParamJSON struct {
	PartName  string `json:"partName"`
	ParamName string `json:"paramName"`
}

type batchTaskJSON struct {
	ID         string          `json:"id"`
	Params     map[string]any  `json:"params"`
	PartParams []partParamJSON `json:"partParams,omitempty"`
	progressJSON
}

type batchJSONBody struct {
	ID               string                     `json:"id"`
	Template         string                     `json:"template,omitempty"`
	EmbeddedTemplate *templateJSON              `json:"embeddedTemplate,omitempty"`
	Integration      map[string]any             `json:"integration,omitempty"`
	Parts            map[string]json.RawMessage `json:"parts,omitempty"`
	UnmappedParts    []string                   `json:"unmappedParts,omitempty"`
	PostedAt         string                     `json:"postedAt"`
	Tasks            []batchTaskJSON            `json:"tasks"`
}

func batchTaskOf(t BatchTask) batchTaskJSON {
	out := batchTaskJSON{
		ID:     t.ID,
		Params: redactMap(t.Params),
		progressJSON: progressOf(t.Stage, (&taskState{progress: progress{stage: t.Stage, failure: t.Failure}}).statusMessage(), "",
			t.StartedAt, t.EndedAt, t.Log, t.Results),
	}
	for _, pp := range t.PartParams {
		out.PartParams = append(out.PartParams, partParamJSON(pp))
	}
	return out
}

func batchOf(b Batch) batchJSONBody {
	out := batchJSONBody{
		ID:               b.ID,
		Template:         b.Template,
		EmbeddedTemplate: templateOf(b.EmbeddedTemplate),
		Integration:      redactMap(b.Integration),
		Parts:            redactParts(b.Parts),
		UnmappedParts:    b.UnmappedParts,
		PostedAt:         formatTime(b.PostedAt),
		Tasks:            make([]batchTaskJSON, len(b.Tasks)),
	}
	for i, t := range b.Tasks {
		out.Tasks[i] = batchTaskOf(t)
	}
	return out
}

type taskJSONBody struct {
	ID               string                     `json:"id"`
	Template         string                     `json:"template,omitempty"`
	EmbeddedTemplate *templateJSON              `json:"embeddedTemplate,omitempty"`
	Integration      map[string]any             `json:"integration,omitempty"`
	Params           map[string]any             `json:"params"`
	Parts            map[string]json.RawMessage `json:"parts,omitempty"`
	PostedAt         string                     `json:"postedAt"`
	progressJSON
}

func taskOf(t Task) taskJSONBody {
	out := taskJSONBody{
		ID:               t.ID,
		Template:         t.Template,
		EmbeddedTemplate: templateOf(t.EmbeddedTemplate),
		Integration:      redactMap(t.Integration),
		Params:           redactMap(t.Params),
		Parts:            redactParts(t.Parts),
		PostedAt:         formatTime(t.PostedAt),
	}
	st := &singleState{progress: progress{stage: t.Stage, failure: t.Failure}}
	out.progressJSON = progressOf(t.Stage, st.statusMessage(), st.statusDescription(), t.StartedAt, t.EndedAt, t.Log, t.Results)
	return out
}

// requestJSON is a Request without its secrets.
type requestJSON struct {
	Method        string                     `json:"method"`
	Path          string                     `json:"path"`
	Header        http.Header                `json:"header"`
	HasAPIKey     bool                       `json:"hasAPIKey"`
	ContentLength int64                      `json:"contentLength"`
	BytesRead     int64                      `json:"bytesRead"`
	Chunked       bool                       `json:"chunked"`
	JSON          json.RawMessage            `json:"json,omitempty"`
	Template      *templateJSON              `json:"template,omitempty"`
	Parts         map[string]json.RawMessage `json:"parts,omitempty"`
	Status        int                        `json:"status"`
}

func requestsReply(reqs []Request) *reply {
	out := make([]requestJSON, len(reqs))
	for i, r := range reqs {
		out[i] = requestJSON{
			Method:        r.Method,
			Path:          r.Path,
			Header:        redactHeader(r.Header),
			HasAPIKey:     r.HasAPIKey,
			ContentLength: r.ContentLength,
			BytesRead:     r.BytesRead,
			Chunked:       r.Chunked,
			JSON:          redactJSON(r.JSON),
			Template:      templateOf(r.Template),
			Parts:         redactParts(r.Parts),
			Status:        r.Status,
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"requests": out})
}

// redacted stands in for a secret in what the control API writes.
const redacted = "[redacted]"

// secretHeaders are the headers whose values the control API never writes: the API
// key, and the credentials a client might send to another host by mistake. That
// such a header arrived stays visible.
var secretHeaders = []string{headerAPIKey, "Authorization", "Proxy-Authorization", "Cookie"}

func redactHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, k := range secretHeaders {
		if _, ok := out[k]; ok {
			out[k] = []string{redacted}
		}
	}
	return out
}

// isSecretKey reports whether a JSON key names a Salesforce session, whatever its
// case: the control API never writes its value.
func isSecretKey(k string) bool { return strings.EqualFold(k, "sessionID") }

func redactMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	v, _ := redactValue(m).(map[string]any)
	return v
}

// redactValue replaces the value of every secret key in v, at any depth.
func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if isSecretKey(k) {
				out[k] = redacted
				continue
			}
			out[k] = redactValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactValue(e)
		}
		return out
	}
	return v
}

// redactJSON returns raw with every secret key's value replaced; nil for raw that is
// empty or not valid JSON, which cannot be shown without perhaps showing a secret.
func redactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return nil
	}
	return out
}

func redactParts(parts map[string]json.RawMessage) map[string]json.RawMessage {
	if parts == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(parts))
	for k, v := range parts {
		if r := redactJSON(v); r != nil {
			out[k] = r
		}
	}
	return out
}
