package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// defaultTemplateName is the file name sent for a template without one.
const defaultTemplateName = "template.dap"

// Template is a DAP file to embed in a post, with the name sent as its file
// name. It is opened afresh for each attempt, so a retried post sends it
// again from the start, except one made by TemplateFromReader, which can be
// read only once. Make one with a TemplateFrom… function; the zero value
// holds no template.
type Template struct {
	name      string
	size      int64 // -1 when unknown
	open      func() (io.ReadCloser, error)
	singleUse bool
	problem   string // what makes the template unusable, found when it was made
}

// TemplateFromFile embeds the file at path. Its size is taken now, so that the
// request can declare its exact length; the file is opened when each attempt
// sends it. A file that does not exist or is a directory is an error now.
func TemplateFromFile(path string) (Template, error) {
	src, err := fileSource(path)
	if err != nil {
		return Template{}, fmt.Errorf("dynamo: template: %w", err)
	}
	return Template{name: filepath.Base(path), size: src.size, open: src.open}, nil
}

// TemplateFromBytes embeds data under the file name name.
func TemplateFromBytes(name string, data []byte) Template {
	return Template{name: name, size: int64(len(data)), open: bytesOpener(data)}
}

// TemplateFromReader embeds what r yields, under the file name name. Its size
// is unknown, so the request is sent chunked, and it can be read only once: a
// post that would need another attempt after the first byte was read fails
// with ErrNotReplayable instead. (The request asks the server to accept it
// before its body is sent, so a refusal that comes first, such as a 503,
// leaves r unread and is retried.) r is not closed.
func TemplateFromReader(name string, r io.Reader) Template {
	return Template{name: name, size: -1, singleUse: true, open: func() (io.ReadCloser, error) {
		return io.NopCloser(r), nil
	}}
}

// TemplateFromReaderAt embeds the first size bytes of r, under the file name
// name; each attempt reads them through its own io.SectionReader, so r may be
// shared. It suits a template kept in object storage behind an io.ReaderAt.
func TemplateFromReaderAt(name string, r io.ReaderAt, size int64) Template {
	t := Template{name: name, size: size, open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(r, 0, size)), nil
	}}
	if size < 0 { // an io.SectionReader of unknown size reads nothing
		t.size, t.problem = -1, "TemplateFromReaderAt needs the template's size"
	}
	return t
}

// TemplateFromOpener embeds a template that open yields, afresh for each
// attempt, under the file name name. size is its exact size, or -1 when
// unknown (the request is then sent chunked).
func TemplateFromOpener(name string, size int64, open func() (io.ReadCloser, error)) Template {
	return Template{name: name, size: size, open: open}
}

// Name returns the file name sent for the template: the base name of what was
// given, or "template.dap" when that is empty.
func (t Template) Name() string {
	name := filepath.Base(t.name)
	if t.name == "" || name == "." || name == string(filepath.Separator) {
		return defaultTemplateName
	}
	return name
}

// Size returns the template's size in bytes, or -1 when it is unknown.
func (t Template) Size() int64 { return t.size }

func (t Template) validate(p *problems) {
	switch {
	case t.open == nil:
		p.add("template", "no template given (use TemplateFromFile, TemplateFromBytes, …)")
	case t.problem != "":
		p.add("template", t.problem)
	case t.size < -1:
		p.add("template", fmt.Sprintf("invalid size %d", t.size))
	case t.size == 0:
		p.add("template", "is empty")
	}
	switch {
	case hasControl(t.name):
		p.add("template.name", "must not contain control characters")
	case !utf8.ValidString(t.name):
		p.add("template.name", "must be valid UTF-8")
	}
}

// JSONStream is the value of a Part whose JSON is streamed from a source
// instead of encoded from a Go value, for a large JSON document kept in a
// file. Its content is sent as it is, not checked.
type JSONStream struct {
	size int64
	open func() (io.ReadCloser, error)
}

// JSONStreamFromFile streams the JSON document in the file at path, opened
// afresh for each attempt.
func JSONStreamFromFile(path string) (*JSONStream, error) {
	src, err := fileSource(path)
	if err != nil {
		return nil, fmt.Errorf("dynamo: JSON part: %w", err)
	}
	return &JSONStream{size: src.size, open: src.open}, nil
}

// JSONStreamFromOpener streams the JSON document that open yields, afresh for
// each attempt. size is its exact size, or -1 when unknown.
func JSONStreamFromOpener(size int64, open func() (io.ReadCloser, error)) *JSONStream {
	return &JSONStream{size: size, open: open}
}

// errStreamNotStored is MarshalJSON's error for a JSONStream.
var errStreamNotStored = errors.New("dynamo: a JSONStream is read from its source when a request is sent; it cannot be stored as JSON")

// MarshalJSON fails: a JSONStream has no value to store, only a source, so
// that a Batch holding one does not silently lose the part when stored.
func (s *JSONStream) MarshalJSON() ([]byte, error) { return nil, errStreamNotStored }

type source struct {
	size int64
	open func() (io.ReadCloser, error)
}

func fileSource(path string) (source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return source{}, err
	}
	if !fi.Mode().IsRegular() {
		return source{}, fmt.Errorf("%s is not a regular file", path)
	}
	return source{size: fi.Size(), open: func() (io.ReadCloser, error) { return os.Open(path) }}, nil
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// PostBatchWithTemplate posts a batch with the template t embedded, as a
// multipart body streamed from its sources: the template, the batch's tasks
// and integration, then each of b.Parts as "param.<Name>". b.Template must be
// empty. Everything is validated, and every part value encoded, before the
// request starts; memory use does not grow with the template's size. The
// request declares its exact length unless a source's size is unknown.
//
// Retries and outcomes are those of PostBatch. A retry sends the whole body
// again from the start, reopening the template.
func (c *Client) PostBatchWithTemplate(ctx context.Context, t Template, b *Batch) (*BatchResponse, error) {
	p := b.validate(formEmbedded)
	t.validate(&p)
	if b != nil {
		p = append(p, c.orgProblems(b.Integration)...)
	}
	if err := refuse(p, b.encodingProblems); err != nil {
		return nil, err
	}
	tasks, tasksErr := encodeTasks(b.Tasks, 0)
	parts, partsErr := encodeParts(b.Parts)
	if err := joinProblems(tasksErr, partsErr); err != nil {
		return nil, err
	}
	return c.postEmbedded(ctx, t, b, tasks, parts)
}

// postEmbedded posts a valid batch with an embedded template, its tasks and
// parts already encoded.
func (c *Client) postEmbedded(ctx context.Context, t Template, b *Batch, tasks []byte, parts []formdata.Part) (*BatchResponse, error) {
	return c.postBatch(ctx, b, func(in *Integration) (*request, error) {
		return multipartRequest(t, batchJSON("", tasks, in), parts)
	})
}

// multipartRequest is the body of a post with an embedded template: the
// template, the data part, then the extra parts.
func multipartRequest(t Template, data []byte, extra []formdata.Part) (*request, error) {
	parts := make([]formdata.Part, 0, 2+len(extra))
	parts = append(parts,
		formdata.Part{Name: "template", FileName: t.Name(), ContentType: "application/octet-stream", Size: t.size, Open: t.open},
		jsonPart("data", data))
	parts = append(parts, extra...)
	form, err := formdata.New(formdata.NewBoundary(), parts)
	if err != nil { // not expected: validation checks the names and sizes it holds
		return nil, fmt.Errorf("dynamo: %w", err)
	}
	return &request{
		contentType: form.ContentType(),
		body:        func() (io.ReadCloser, error) { return form.Open(), nil },
		size:        form.ContentLength(),
		singleUse:   t.singleUse,
	}, nil
}

// encodeParts encodes the extra parts, each as "param.<Name>". When a value
// cannot be encoded, the error is a *ValidationError naming every such value.
func encodeParts(parts []Part) ([]formdata.Part, error) {
	out := make([]formdata.Part, 0, len(parts))
	for _, part := range parts {
		name := "param." + part.Name
		if s, ok := part.Value.(*JSONStream); ok {
			out = append(out, formdata.Part{Name: name, ContentType: "application/json", Size: s.size, Open: s.open})
			continue
		}
		value, err := json.Marshal(part.Value)
		if err != nil {
			var p problems
			partsEncodingProblems(parts, &p)
			return nil, p.err()
		}
		out = append(out, jsonPart(name, value))
	}
	return out, nil
}

func jsonPart(name string, data []byte) formdata.Part {
	return formdata.Part{Name: name, ContentType: "application/json", Size: int64(len(data)), Open: bytesOpener(data)}
}

// joinProblems joins the problems of validation errors; any other error is
// returned as it is.
func joinProblems(errs ...error) error {
	var p problems
	for _, err := range errs {
		var ve *ValidationError
		switch {
		case err == nil:
		case errors.As(err, &ve):
			p = append(p, ve.Problems...)
		default:
			return err
		}
	}
	return p.err()
}
