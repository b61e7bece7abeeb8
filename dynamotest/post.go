package dynamotest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

const (
	// maxTasks is the most tasks one batch may hold.
	maxTasks = 1000
	// maxJSONBytes bounds the JSON the fake reads for one post: the body of a JSON
	// post, or the data part and every param part of a multipart post together.
	maxJSONBytes = 32 << 20
	// maxProblems bounds how many problems one refusal lists.
	maxProblems = 20
	// paramPrefix starts the name of every extra JSON part.
	paramPrefix = "param."
)

var partNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// postBatch handles POST /v1/batch in both forms.
func (s *Server) postBatch(x *exchange, r *http.Request) *reply {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return errorReply(http.StatusUnsupportedMediaType, "missing Content-Type: expected application/json or multipart/form-data")
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errorReply(http.StatusUnsupportedMediaType, "invalid Content-Type %q: %v", ct, err)
	}
	switch mediaType {
	case "application/json":
		return s.postJSON(x, r)
	case "multipart/form-data":
		return s.postMultipart(x, r)
	default:
		return errorReply(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: expected application/json or multipart/form-data", mediaType)
	}
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

// decodeObject decodes raw as a JSON object; ok is false if it is not one.
func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
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

// postJSON handles the JSON form: template by reference.
func (s *Server) postJSON(x *exchange, r *http.Request) *reply {
	body, err := readLimited(r.Body, maxJSONBytes)
	if errors.Is(err, errTooLarge) {
		return tooLarge("request body")
	}
	if err != nil {
		return errorReply(http.StatusBadRequest, "reading the request body: %v", err)
	}
	x.update(func(rec *Request) { rec.JSON = body })
	if !json.Valid(body) {
		return errorReply(http.StatusBadRequest, "request body is not valid JSON: %v", jsonError(body))
	}
	top, ok := decodeObject(body)
	if !ok {
		return errorReply(http.StatusBadRequest, "request body must be a JSON object")
	}
	var p problems
	for _, k := range sortedKeys(top) {
		switch k {
		case "template", "tasks", "integration":
		default:
			p.add("unknown field %q", k)
		}
	}
	template := ""
	if raw, ok := top["template"]; !ok {
		p.add("template is required")
	} else if template, ok = nonEmptyString(raw); !ok {
		p.add("template must be a non-empty string")
	}
	integration := checkIntegration(top, &p)
	tasks := checkTasks(top, nil, false, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.accept(&batchState{template: template, integration: integration, tasks: tasks})
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

// postMultipart handles the multipart form: embedded template and extra JSON parts.
func (s *Server) postMultipart(x *exchange, r *http.Request) *reply {
	mr, err := r.MultipartReader()
	if err != nil {
		return errorReply(http.StatusBadRequest, "invalid multipart body: %v", err)
	}
	var (
		template *TemplateInfo
		data     json.RawMessage
		parts    = make(map[string]json.RawMessage)
		budget   = int64(maxJSONBytes)
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errorReply(http.StatusBadRequest, "invalid multipart body: %v", err)
		}
		name := part.FormName()
		switch {
		case name == "template":
			if template != nil {
				return errorReply(http.StatusBadRequest, "more than one template part")
			}
			info, err := hashTemplate(part)
			if err != nil {
				return errorReply(http.StatusBadRequest, "reading the template part: %v", err)
			}
			template = info
			x.update(func(rec *Request) { t := *info; rec.Template = &t })
		case name == "data":
			if data != nil {
				return errorReply(http.StatusBadRequest, "more than one data part")
			}
			if rep := checkJSONPartType(part, "data part"); rep != nil {
				return rep
			}
			b, err := readLimited(part, budget)
			if errors.Is(err, errTooLarge) {
				return tooLarge("the data part and the param parts together")
			}
			if err != nil {
				return errorReply(http.StatusBadRequest, "reading the data part: %v", err)
			}
			budget -= int64(len(b))
			data = b
			x.update(func(rec *Request) { rec.JSON = b })
		case strings.HasPrefix(name, paramPrefix):
			pn := strings.TrimPrefix(name, paramPrefix)
			if !partNameRE.MatchString(pn) {
				return errorReply(http.StatusBadRequest, "part %q: a param part's name must be %q followed by letters, digits, '.', '_' or '-'", name, paramPrefix)
			}
			if _, dup := parts[pn]; dup {
				return errorReply(http.StatusBadRequest, "more than one part named %q", name)
			}
			if rep := checkJSONPartType(part, fmt.Sprintf("part %q", name)); rep != nil {
				return rep
			}
			b, err := readLimited(part, budget)
			if errors.Is(err, errTooLarge) {
				return tooLarge("the data part and the param parts together")
			}
			if err != nil {
				return errorReply(http.StatusBadRequest, "reading part %q: %v", name, err)
			}
			budget -= int64(len(b))
			parts[pn] = b
			x.update(func(rec *Request) {
				if rec.Parts == nil {
					rec.Parts = make(map[string]json.RawMessage)
				}
				rec.Parts[pn] = b
			})
			if !json.Valid(b) {
				return errorReply(http.StatusBadRequest, "part %q is not valid JSON: %v", name, jsonError(b))
			}
		case name == "":
			return errorReply(http.StatusBadRequest, "a part has no form-data name")
		default:
			return errorReply(http.StatusBadRequest, "unexpected part %q: expected template, data or %s<name>", name, paramPrefix)
		}
	}

	var p problems
	if template == nil {
		p.add("the template part is missing")
	} else {
		if template.FileName == "" {
			p.add("the template part has no filename in its Content-Disposition")
		}
		if template.Size == 0 {
			p.add("the template part is empty")
		}
	}
	if data == nil {
		p.add("the data part is missing")
		return p.reply()
	}
	if !json.Valid(data) {
		p.add("the data part is not valid JSON: %v", jsonError(data))
		return p.reply()
	}
	top, ok := decodeObject(data)
	if !ok {
		p.add("the data part must be a JSON object")
		return p.reply()
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case "tasks", "integration":
		case "template":
			p.add("the data part must not contain template: the template is the file part")
		default:
			p.add("unknown field %q in the data part", k)
		}
	}
	integration := checkIntegration(top, &p)
	tasks := checkTasks(top, parts, true, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.accept(&batchState{embedded: template, integration: integration, tasks: tasks})
}

// hashTemplate counts and hashes the template part without keeping its bytes.
func hashTemplate(part *multipart.Part) (*TemplateInfo, error) {
	h := sha256.New()
	n, err := io.Copy(h, part)
	if err != nil {
		return nil, err
	}
	return &TemplateInfo{
		FileName:    part.FileName(),
		ContentType: part.Header.Get("Content-Type"),
		Size:        n,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// checkJSONPartType refuses a JSON part that is not declared as application/json.
func checkJSONPartType(part *multipart.Part, what string) *reply {
	ct := part.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mediaType != "application/json" {
		return errorReply(http.StatusBadRequest, "%s must have Content-Type application/json, got %q", what, ct)
	}
	return nil
}
