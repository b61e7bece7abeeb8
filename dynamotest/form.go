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
	"strings"
)

// paramPrefix starts the name of every extra JSON part.
const paramPrefix = "param."

var partNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// form is a multipart post of either API as read: the template part's description,
// the data part, the param parts keyed by name without the prefix, and what was wrong
// with the parts themselves.
type form struct {
	template *TemplateInfo
	data     json.RawMessage // nil when there was no data part
	parts    map[string]json.RawMessage
	problems problems
}

// readForm reads every part of a multipart post, recording each in the request's
// record as it arrives. It refuses the post at once only when reading cannot go on:
// a broken body, or more JSON than the limit; any other problem is kept in the form,
// to be named together with the rest.
func readForm(x *exchange, r *http.Request) (*form, *reply) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "invalid multipart body: %v", err)
	}
	f := &form{parts: make(map[string]json.RawMessage)}
	budget := int64(maxJSONBytes)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, errorReply(http.StatusBadRequest, "invalid multipart body: %v", err)
		}
		name := part.FormName()
		switch {
		case name == "template":
			if rep := f.readTemplate(x, part); rep != nil {
				return nil, rep
			}
		case name == "data":
			if rep := f.readData(x, part, &budget); rep != nil {
				return nil, rep
			}
		case strings.HasPrefix(name, paramPrefix):
			if rep := f.readParam(x, part, &budget); rep != nil {
				return nil, rep
			}
		case name == "":
			f.problems.add("a part has no form-data name")
		default:
			f.problems.add("unexpected part %q: expected template, data or %s<name>", name, paramPrefix)
		}
	}
}

// readTemplate counts and hashes the template part without keeping its bytes.
func (f *form) readTemplate(x *exchange, part *multipart.Part) *reply {
	if f.template != nil {
		f.problems.add("more than one template part")
		return nil
	}
	h := sha256.New()
	n, err := io.Copy(h, part)
	if err != nil {
		return errorReply(http.StatusBadRequest, "reading the template part: %v", err)
	}
	info := &TemplateInfo{
		FileName:    part.FileName(),
		ContentType: part.Header.Get("Content-Type"),
		Size:        n,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
	}
	f.template = info
	x.update(func(rec *Request) { t := *info; rec.Template = &t })
	return nil
}

func (f *form) readData(x *exchange, part *multipart.Part, budget *int64) *reply {
	if f.data != nil {
		f.problems.add("more than one data part")
		return nil
	}
	f.checkJSONPart(part, "the data part")
	b, rep := readJSONPart(part, "the data part", budget)
	if rep != nil {
		return rep
	}
	f.data = b
	x.update(func(rec *Request) { rec.JSON = b })
	return nil
}

func (f *form) readParam(x *exchange, part *multipart.Part, budget *int64) *reply {
	name := part.FormName()
	pn := strings.TrimPrefix(name, paramPrefix)
	what := fmt.Sprintf("part %q", name)
	switch _, dup := f.parts[pn]; {
	case !partNameRE.MatchString(pn):
		f.problems.add("%s: a param part's name must be %q followed by letters, digits, '.', '_' or '-'", what, paramPrefix)
		return nil
	case dup:
		f.problems.add("more than one part named %q", name)
		return nil
	}
	f.checkJSONPart(part, what)
	b, rep := readJSONPart(part, what, budget)
	if rep != nil {
		return rep
	}
	f.parts[pn] = b
	x.update(func(rec *Request) {
		if rec.Parts == nil {
			rec.Parts = make(map[string]json.RawMessage)
		}
		rec.Parts[pn] = b
	})
	if !json.Valid(b) {
		f.problems.add("%s is not valid JSON: %v", what, jsonError(b))
	}
	return nil
}

// checkJSONPart notes a JSON part not declared as application/json, or sent with a
// filename: a multipart server reads a part with a filename as a file upload, not as
// a field.
func (f *form) checkJSONPart(part *multipart.Part, what string) {
	ct := part.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mediaType != "application/json" {
		f.problems.add("%s must have Content-Type application/json, got %q", what, ct)
	}
	if part.FileName() != "" {
		f.problems.add("%s must not have a filename in its Content-Disposition: it is a JSON field, not a file", what)
	}
}

// readJSONPart reads a JSON part within what is left of the post's JSON budget.
func readJSONPart(part *multipart.Part, what string, budget *int64) (json.RawMessage, *reply) {
	b, err := readLimited(part, *budget)
	if errors.Is(err, errTooLarge) {
		return nil, tooLarge("the data part and the param parts together")
	}
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "reading %s: %v", what, err)
	}
	*budget -= int64(len(b))
	return b, nil
}

// readFormData reads a multipart post of either API and checks what both
// forms share: the template part, the param parts and the data part, which
// must be a JSON object without a template field. With a reply, the post is
// refused already; otherwise top is the data part's object and p what is
// wrong so far.
func readFormData(x *exchange, r *http.Request) (f *form, top map[string]json.RawMessage, p problems, rep *reply) {
	f, rep = readForm(x, r)
	if rep != nil {
		return nil, nil, nil, rep
	}
	f.checkParts(&p)
	if top = f.decodeData(&p); top == nil {
		return nil, nil, nil, p.reply()
	}
	if _, ok := top["template"]; ok {
		p.add("the data part must not contain template: the template is the file part")
	}
	return f, top, p, nil
}

// checkParts adds to p what was wrong with the parts, the template part's included.
func (f *form) checkParts(p *problems) {
	*p = append(*p, f.problems...)
	t := f.template
	if t == nil {
		p.add("the template part is missing")
		return
	}
	if t.FileName == "" {
		p.add("the template part has no filename in its Content-Disposition")
	}
	if mediaType, _, err := mime.ParseMediaType(t.ContentType); err != nil || mediaType != "application/octet-stream" {
		p.add("the template part must have Content-Type application/octet-stream, got %q", t.ContentType)
	}
	if t.Size == 0 {
		p.add("the template part is empty")
	}
}

// decodeData decodes the data part as a JSON object; nil, with the problem added to
// p, if there is none to check further.
func (f *form) decodeData(p *problems) map[string]json.RawMessage {
	if f.data == nil {
		p.add("the data part is missing")
		return nil
	}
	if !json.Valid(f.data) {
		p.add("the data part is not valid JSON: %v", jsonError(f.data))
		return nil
	}
	top, ok := decodeObject(f.data)
	if !ok {
		p.add("the data part must be a JSON object")
		return nil
	}
	return top
}
