package dynamotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	// maxTasks is the most tasks one batch may hold.
	maxTasks = 1000
	// maxJSONBytes bounds the JSON the fake reads for one post: the body of a JSON
	// post, or the data part and every param part of a multipart post together.
	maxJSONBytes = 32 << 20
	// maxProblems bounds how many problems one refusal lists.
	maxProblems = 20
)

// bodyForm is which of the two documented forms a post uses.
type bodyForm int

const (
	formJSON bodyForm = iota
	formMultipart
)

// postForm tells a post's form from its Content-Type, or refuses it with 415.
func postForm(r *http.Request) (bodyForm, *reply) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return 0, errorReply(http.StatusUnsupportedMediaType, "missing Content-Type: expected application/json or multipart/form-data")
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, errorReply(http.StatusUnsupportedMediaType, "invalid Content-Type %q: %v", ct, err)
	}
	switch mediaType {
	case "application/json":
		return formJSON, nil
	case "multipart/form-data":
		return formMultipart, nil
	}
	return 0, errorReply(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: expected application/json or multipart/form-data", mediaType)
}

// problems collects what is wrong with a post, to refuse it with every problem named.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) reply() *reply {
	list := []string(p)
	more := 0
	if len(list) > maxProblems {
		more = len(list) - maxProblems
		list = list[:maxProblems]
	}
	msg := strings.Join(list, "; ")
	if more > 0 {
		msg += fmt.Sprintf("; and %d more problems", more)
	}
	return errorReply(http.StatusBadRequest, "%s", msg)
}

// errTooLarge reports JSON beyond maxJSONBytes.
var errTooLarge = errors.New("too large")

// readLimited reads all of r if it holds at most limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

func tooLarge(what string) *reply {
	return errorReply(http.StatusRequestEntityTooLarge, "%s exceeds the limit of %d bytes of JSON", what, maxJSONBytes)
}

// readJSONBody reads the body of a JSON post, records it, and decodes it as an object.
func readJSONBody(x *exchange, r *http.Request) (map[string]json.RawMessage, *reply) {
	body, err := readLimited(r.Body, maxJSONBytes)
	if errors.Is(err, errTooLarge) {
		return nil, tooLarge("request body")
	}
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "reading the request body: %v", err)
	}
	x.update(func(rec *Request) { rec.JSON = body })
	if !json.Valid(body) {
		return nil, errorReply(http.StatusBadRequest, "request body is not valid JSON: %v", jsonError(body))
	}
	top, ok := decodeObject(body)
	if !ok {
		return nil, errorReply(http.StatusBadRequest, "request body must be a JSON object")
	}
	return top, nil
}

// decodeObject decodes raw as a JSON object; ok is false if it is not one.
func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// jsonError describes why body is not valid JSON.
func jsonError(body []byte) error {
	var v any
	err := json.Unmarshal(body, &v)
	if err == nil {
		return errors.New("unexpected data")
	}
	return err
}

// sortedKeys returns the keys of m in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nonEmptyString reports whether raw is a JSON string with at least one character.
func nonEmptyString(raw json.RawMessage) (string, bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	str, ok := v.(string)
	return str, ok && str != ""
}

// checkFields names every key of obj outside known; where says whose keys they are
// ("" for the top level).
func checkFields(obj map[string]json.RawMessage, where string, p *problems, known ...string) {
	for _, k := range sortedKeys(obj) {
		if slices.Contains(known, k) {
			continue
		}
		if where == "" {
			p.add("unknown field %q", k)
		} else {
			p.add("unknown field %q in %s", k, where)
		}
	}
}

// checkTemplateRef checks the template reference of a JSON post.
func checkTemplateRef(top map[string]json.RawMessage, p *problems) string {
	raw, ok := top["template"]
	if !ok {
		p.add("template is required")
		return ""
	}
	template, ok := nonEmptyString(raw)
	if !ok {
		p.add("template must be a non-empty string")
	}
	return template
}

// postBatch handles POST /v1/batch in both forms.
func (s *Server) postBatch(x *exchange, r *http.Request) *reply {
	form, rep := postForm(r)
	if rep != nil {
		return rep
	}
	if form == formMultipart {
		return s.postBatchMultipart(x, r)
	}
	top, rep := readJSONBody(x, r)
	if rep != nil {
		return rep
	}
	var p problems
	checkFields(top, "", &p, "template", "tasks", "integration")
	template := checkTemplateRef(top, &p)
	integration := checkIntegration(top, &p)
	tasks := checkTasks(top, nil, false, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.acceptBatch(&batchState{template: template, integration: integration, tasks: tasks})
}

// postBatchMultipart handles the multipart form of a batch: embedded template and
// extra JSON parts that tasks map through partParams.
func (s *Server) postBatchMultipart(x *exchange, r *http.Request) *reply {
	f, top, p, rep := readFormData(x, r)
	if rep != nil {
		return rep
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case "tasks", "integration", "template": // template: readFormData said so
		default:
			p.add("unknown field %q in the data part", k)
		}
	}
	integration := checkIntegration(top, &p)
	tasks := checkTasks(top, f.parts, true, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.acceptBatch(&batchState{embedded: f.template, integration: integration, parts: f.parts, tasks: tasks})
}

type acceptedBatchBody struct {
	ID           string   `json:"id"`
	Tasks        []string `json:"tasks"`
	Message      string   `json:"message"`
	LicenseUsage int      `json:"licenseUsage"`
}

// acceptBatch stores a valid batch, tells the accept callbacks, and answers 202.
func (s *Server) acceptBatch(b *batchState) *reply {
	if rep := s.admitBatch(b); rep != nil {
		return rep
	}
	b.index()
	s.mu.Lock()
	b.postedAt = s.cfg.now()
	s.batches = append(s.batches, b)
	s.batchIndex[b.id] = b
	s.mu.Unlock()
	s.notify(func(now time.Time) Accepted {
		s.settleBatch(b, now)
		snap := b.snapshot()
		return Accepted{Batch: &snap}
	})
	return jsonReply(http.StatusAccepted, acceptedBatchBody{
		ID:           b.id,
		Tasks:        b.taskIDs(),
		Message:      "Success",
		LicenseUsage: len(b.tasks),
	})
}

// notify calls each accept callback with a snapshot of its own, taken under s.mu;
// the callback itself runs without the lock, so it may use the Server.
func (s *Server) notify(snapshot func(now time.Time) Accepted) {
	for _, f := range s.cfg.onAccept {
		s.mu.Lock()
		a := snapshot(s.cfg.now())
		s.mu.Unlock()
		f(a)
	}
}
