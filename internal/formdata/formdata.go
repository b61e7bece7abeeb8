// Package formdata encodes a multipart/form-data body (RFC 7578) as a chain
// of readers, without a goroutine, a pipe or a copy of the part contents.
//
// A [Form] holds the boundary, the parts and their framing (the boundary
// delimiters and part headers), which is computed once by [New]. Each call to
// [Form.Open] returns a fresh, independent reader over the whole body that
// interleaves the framing with the part contents, opening each part's source
// only when reading reaches it. This makes Open suitable as a request body
// factory that is called again for every attempt of a request.
//
// The framing is byte-for-byte what [mime/multipart.Writer] produces for the
// same boundary and part headers. When every part's size is known, the exact
// body length is known before anything is read ([Form.ContentLength]).
package formdata

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ErrClosed is returned by Read and WriteTo on a body reader after its Close
// method has been called.
var ErrClosed = errors.New("formdata: read from closed body")

// ErrSizeMismatch is matched, using [errors.Is], by the [SourceError]
// returned when a part's source yields fewer or more bytes than the part's
// declared Size.
var ErrSizeMismatch = errors.New("formdata: part content size differs from its declared size")

// SourceError reports that a part's source failed: its Open function or its
// Read or Close method returned an error, or it yielded a different number of
// bytes than the part declared. Any other error from a body reader comes from
// the body itself ([ErrClosed]) or, for WriteTo, from the destination writer.
type SourceError struct {
	Part string // name of the part whose source failed
	Err  error  // the source's error, or one matching ErrSizeMismatch
}

// Error returns the error message, which names the part.
func (e *SourceError) Error() string {
	return "formdata: part " + strconv.Quote(e.Part) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *SourceError) Unwrap() error { return e.Err }

// sizeError is the Err of a SourceError for a part whose content size
// differs from its declared size.
type sizeError struct {
	got      int64 // bytes produced; unused when longer
	declared int64
	longer   bool // the source had more than declared bytes
}

func (e *sizeError) Error() string {
	if e.longer {
		return fmt.Sprintf("content is longer than its declared %d bytes", e.declared)
	}
	return fmt.Sprintf("content is %d bytes, declared %d", e.got, e.declared)
}

func (e *sizeError) Is(target error) bool { return target == ErrSizeMismatch }

// Part describes one part of a form.
type Part struct {
	// Name is the form field name, such as "template" or "param.extra".
	// It must not be empty.
	Name string

	// FileName, when not empty, is sent as the filename parameter of the
	// part's Content-Disposition header.
	FileName string

	// ContentType, when not empty, is sent as the part's Content-Type
	// header, such as "application/octet-stream" or "application/json".
	// When empty the header is left out, and the part is text/plain.
	ContentType string

	// Size is the exact size of the content in bytes, or -1 if unknown.
	// A body reader fails when a source with a known size yields fewer or
	// more bytes than that.
	Size int64

	// Open opens the part's content. It is called at most once per body
	// reader, when reading reaches the part and not before, and the
	// returned ReadCloser is closed exactly once: after it reports io.EOF,
	// after it fails, or when the body reader is closed (a body reader
	// that is neither read to the end nor closed leaves it open). Since
	// Form.Open may be called many times, possibly concurrently, Open must
	// return a new, independent reader on each call.
	//
	// A body reader's Close may be called while a Read on the body is in
	// progress, as net/http does with request bodies; it then calls Close
	// on the part's source while the source's Read may be running. Sources
	// such as *os.File support that.
	Open func() (io.ReadCloser, error)
}

// Form is a multipart/form-data body with a fixed boundary and parts. It is
// immutable, and safe for concurrent use.
type Form struct {
	boundary    string
	contentType string
	parts       []Part
	// frames[i] is the framing before the content of parts[i]: the
	// boundary delimiter and the part's header. frames[len(parts)] is the
	// closing delimiter.
	frames [][]byte
	length int64 // total body length, or -1 if unknown
}

// NewBoundary returns a random boundary (60 hexadecimal digits from 30 bytes
// of crypto/rand) that is valid for [New], in the same form as the default
// boundary of [mime/multipart.Writer].
func NewBoundary() string {
	var b [30]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("formdata: reading random boundary: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// New returns a form with the given boundary and parts, in order. The parts
// slice is copied.
//
// It fails if the boundary is not valid (see
// [mime/multipart.Writer.SetBoundary]: 1 to 70 characters from a restricted
// ASCII set), if a part has an empty Name, a nil Open, or a Size below -1,
// or if a part's Name, FileName or ContentType is not valid UTF-8 or
// contains a control character (a byte below 0x20, or 0x7f). The values are
// placed in headers with quotes and backslashes escaped, so they cannot
// change the structure of the body.
func New(boundary string, parts []Part) (*Form, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, fmt.Errorf("formdata: boundary %q: %w", boundary, err)
	}
	f := &Form{
		boundary:    boundary,
		contentType: mw.FormDataContentType(),
		parts:       slices.Clone(parts),
	}
	ends := make([]int, 0, len(parts)+1)
	var length int64
	known := true
	h := make(textproto.MIMEHeader, 2)
	for i := range f.parts {
		p := &f.parts[i]
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("formdata: part %d (%q): %w", i, p.Name, err)
		}
		if p.Size < 0 {
			known = false
		} else if length > math.MaxInt64-p.Size {
			return nil, fmt.Errorf("formdata: part %d (%q): total size overflows int64", i, p.Name)
		} else {
			length += p.Size
		}
		cd := `form-data; name="` + escapeQuotes(p.Name) + `"`
		if p.FileName != "" {
			cd += `; filename="` + escapeQuotes(p.FileName) + `"`
		}
		h["Content-Disposition"] = []string{cd}
		if p.ContentType != "" {
			h["Content-Type"] = []string{p.ContentType}
		} else {
			delete(h, "Content-Type")
		}
		// The writer writes only the delimiter and the header; the
		// contents never go through it.
		if _, err := mw.CreatePart(h); err != nil {
			return nil, fmt.Errorf("formdata: part %d (%q): %w", i, p.Name, err)
		}
		ends = append(ends, buf.Len())
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("formdata: %w", err)
	}
	ends = append(ends, buf.Len())

	framing := buf.Bytes()
	f.frames = make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		f.frames[i] = framing[start:end:end]
		start = end
	}
	f.length = -1
	if known {
		if length > math.MaxInt64-int64(len(framing)) {
			return nil, errors.New("formdata: total size overflows int64")
		}
		f.length = length + int64(len(framing))
	}
	return f, nil
}

// check reports whether p can be encoded.
func (p *Part) check() error {
	if p.Name == "" {
		return errors.New("empty name")
	}
	if err := checkHeaderText(p.Name); err != nil {
		return fmt.Errorf("name %w", err)
	}
	if err := checkHeaderText(p.FileName); err != nil {
		return fmt.Errorf("file name %w", err)
	}
	if err := checkHeaderText(p.ContentType); err != nil {
		return fmt.Errorf("content type %w", err)
	}
	if p.Size < -1 {
		return fmt.Errorf("invalid size %d", p.Size)
	}
	if p.Open == nil {
		return errors.New("nil Open")
	}
	return nil
}

// checkHeaderText reports whether s may be placed in a header value.
func checkHeaderText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("contains control character %#02x", c)
		}
	}
	return nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// escapeQuotes escapes s for a quoted-string parameter value the way
// mime/multipart does (for strings without CR or LF).
func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// Boundary returns the form's boundary.
func (f *Form) Boundary() string { return f.boundary }

// ContentType returns the value of the body's Content-Type header:
// "multipart/form-data; boundary=" and the boundary, quoted if needed.
func (f *Form) ContentType() string { return f.contentType }

// ContentLength returns the exact length of the body in bytes, or -1 if any
// part's Size is -1.
func (f *Form) ContentLength() int64 { return f.length }

// Open returns a new reader over the whole body. It reads nothing and opens
// no part until its first Read or WriteTo. Readers are independent of each
// other; each must be used by one goroutine at a time, except that Close may
// be called from any goroutine at any time.
//
// The reader implements [io.WriterTo]. An error from a part's source is
// returned as a [*SourceError]; after any error, and after Close, every Read
// fails. Close closes the part source that is open, if any, and returns its
// error; calling it again does nothing.
func (f *Form) Open() io.ReadCloser { return &body{form: f} }

// body is the reader returned by Form.Open.
//
// Its position is frames[i][off:] when !inPart, and the content of parts[i]
// after n bytes when inPart. These fields, cur and err belong to the
// goroutine that reads; Close only touches mu, src and closed.
type body struct {
	form   *Form
	i      int           // index of the current part; len(parts) at the closing delimiter
	off    int           // bytes of frames[i] produced so far
	inPart bool          // frames[i] is done, the content of parts[i] is next
	n      int64         // content bytes of parts[i] produced so far
	cur    io.ReadCloser // open source of parts[i], or nil
	err    error         // sticky error; io.EOF at the end
	pw     partWriter    // used by WriteTo

	mu     sync.Mutex
	src    io.ReadCloser // cur, until Close takes it
	closed bool
}

// isClosed reports whether Close has been called.
func (b *body) isClosed() bool {
	b.mu.Lock()
	c := b.closed
	b.mu.Unlock()
	return c
}

// open opens the source of parts[i] and hands it to Close.
func (b *body) open() error {
	p := &b.form.parts[b.i]
	rc, err := p.Open()
	if err != nil {
		return &SourceError{Part: p.Name, Err: err}
	}
	if rc == nil {
		return &SourceError{Part: p.Name, Err: errors.New("Open returned a nil reader")}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		rc.Close()
		return ErrClosed
	}
	b.src = rc
	b.mu.Unlock()
	b.cur = rc
	return nil
}

// release takes back the current source from Close and closes it, unless
// Close has already done so, which it reports.
func (b *body) release() (closed bool, err error) {
	b.mu.Lock()
	closed = b.closed
	b.src = nil
	b.mu.Unlock()
	rc := b.cur
	b.cur = nil
	if !closed {
		err = rc.Close()
	}
	return closed, err
}

// fail stops the reader with err, or with ErrClosed if the body has been
// closed meanwhile (a source may fail because Close closed it). It closes
// the current source, if any.
func (b *body) fail(err error) error {
	closed := false
	if b.cur != nil {
		closed, _ = b.release()
	} else {
		closed = b.isClosed()
	}
	if closed {
		err = ErrClosed
	}
	b.err = err
	return err
}

// endPart closes the source of parts[i] once its content is done, and moves
// on to the next part.
func (b *body) endPart() error {
	closed, err := b.release()
	if closed {
		b.err = ErrClosed
		return ErrClosed
	}
	if err != nil {
		b.err = &SourceError{Part: b.form.parts[b.i].Name, Err: err}
		return b.err
	}
	b.i++
	b.inPart = false
	b.n = 0
	return nil
}

// checkEnd checks the size of parts[i] at the end of its content.
func (b *body) checkEnd() error {
	p := &b.form.parts[b.i]
	if p.Size >= 0 && b.n != p.Size {
		return &SourceError{Part: p.Name, Err: &sizeError{got: b.n, declared: p.Size}}
	}
	return nil
}

var errBadCount = errors.New("Read returned an invalid count")

// Read reads the body. It produces framing until p is full, and makes at
// most one Read call on a source per call.
func (b *body) Read(p []byte) (int, error) {
	if b.isClosed() {
		b.err = ErrClosed
		return 0, ErrClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	parts := b.form.parts
	n := 0
	for n < len(p) {
		if !b.inPart {
			fr := b.form.frames[b.i]
			c := copy(p[n:], fr[b.off:])
			n += c
			b.off += c
			if b.off < len(fr) {
				return n, nil
			}
			b.off = 0
			if b.i == len(parts) {
				b.err = io.EOF
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			b.inPart = true
			continue
		}
		if b.cur == nil {
			if err := b.open(); err != nil {
				return n, b.fail(err)
			}
		}
		part := &parts[b.i]
		m, err := b.cur.Read(p[n:])
		if m < 0 || m > len(p)-n {
			return n, b.fail(&SourceError{Part: part.Name, Err: errBadCount})
		}
		b.n += int64(m)
		if part.Size >= 0 && b.n > part.Size {
			extra := int(b.n - part.Size)
			b.n = part.Size
			return n + m - extra, b.fail(&SourceError{Part: part.Name, Err: &sizeError{declared: part.Size, longer: true}})
		}
		n += m
		switch {
		case err == io.EOF:
			if err := b.checkEnd(); err != nil {
				return n, b.fail(err)
			}
			if err := b.endPart(); err != nil {
				return n, err
			}
			// Go on with the framing of the next part.
		case err != nil:
			return n, b.fail(&SourceError{Part: part.Name, Err: err})
		default:
			return n, nil
		}
	}
	return n, nil
}

// WriteTo writes the rest of the body to w. It writes each part's framing
// with one Write call, and copies each part's content with io.Copy from its
// source, so that a source's own WriteTo method is used.
//
// An error from w is returned as is; it stops the reader too, since a part
// of the body may have been lost.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	var total int64
	parts := b.form.parts
	for {
		if b.isClosed() {
			b.err = ErrClosed
			return total, ErrClosed
		}
		if b.err == io.EOF {
			return total, nil
		} else if b.err != nil {
			return total, b.err
		}
		if !b.inPart {
			fr := b.form.frames[b.i][b.off:]
			m, err := w.Write(fr)
			if m < 0 || m > len(fr) {
				return total, b.fail(errors.New("formdata: Write returned an invalid count"))
			}
			total += int64(m)
			b.off += m
			if err == nil && m < len(fr) {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, b.fail(err)
			}
			b.off = 0
			if b.i == len(parts) {
				b.err = io.EOF
				return total, nil
			}
			b.inPart = true
		}
		if b.cur == nil {
			if err := b.open(); err != nil {
				return total, b.fail(err)
			}
		}
		part := &parts[b.i]
		b.pw = partWriter{w: w, limit: -1}
		if part.Size >= 0 {
			b.pw.limit = part.Size - b.n
		}
		_, err := io.Copy(&b.pw, b.cur)
		total += b.pw.n
		b.n += b.pw.n
		switch {
		case b.pw.werr != nil:
			err = b.pw.werr
		case b.pw.over:
			err = &SourceError{Part: part.Name, Err: &sizeError{declared: part.Size, longer: true}}
		case err != nil:
			err = &SourceError{Part: part.Name, Err: err}
		default:
			err = b.checkEnd()
		}
		b.pw = partWriter{}
		if err != nil {
			return total, b.fail(err)
		}
		if err := b.endPart(); err != nil {
			return total, err
		}
	}
}

// Close closes the open part source, if any, and makes later reads fail
// with ErrClosed. It may be called concurrently with Read or WriteTo, and
// more than once.
func (b *body) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	src := b.src
	b.src = nil
	b.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}

// partWriter passes a part's content to w, up to limit bytes when limit is
// not negative, and records w's error so that it can be told apart from the
// source's.
type partWriter struct {
	w     io.Writer
	limit int64 // bytes that may still be written, or -1 for no limit
	n     int64 // bytes written
	werr  error // error from w
	over  bool  // more than limit bytes were offered
}

var errOverLimit = errors.New("formdata: content longer than declared")

func (pw *partWriter) Write(p []byte) (int, error) {
	q := p
	if pw.limit >= 0 && int64(len(q)) > pw.limit-pw.n {
		q = q[:pw.limit-pw.n]
	}
	m, err := pw.w.Write(q)
	if m < 0 || m > len(q) {
		m, err = 0, errors.New("formdata: Write returned an invalid count")
	} else if err == nil && m < len(q) {
		err = io.ErrShortWrite
	}
	pw.n += int64(m)
	if err != nil {
		pw.werr = err
		return m, err
	}
	if len(q) < len(p) {
		pw.over = true
		return m, errOverLimit
	}
	return m, nil
}
