package formdata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// source is a part source that counts how often it is opened and how often
// each opened reader is closed.
type source struct {
	data    []byte
	opens   atomic.Int32
	closes  atomic.Int32 // sum over readers
	doubles atomic.Int32 // Close calls on an already closed reader
}

func (s *source) open() (io.ReadCloser, error) {
	s.opens.Add(1)
	return &sourceReader{r: bytes.NewReader(s.data), s: s}, nil
}

type sourceReader struct {
	r      *bytes.Reader
	s      *source
	closed atomic.Bool
}

func (r *sourceReader) Read(p []byte) (int, error) { return r.r.Read(p) }

func (r *sourceReader) Close() error {
	if r.closed.Swap(true) {
		r.s.doubles.Add(1)
	}
	r.s.closes.Add(1)
	return nil
}

// check fails the test unless the source was opened and closed opens times.
func (s *source) check(t *testing.T, name string, opens int32) {
	t.Helper()
	if got := s.opens.Load(); got != opens {
		t.Errorf("part %q opened %d times, want %d", name, got, opens)
	}
	if got := s.closes.Load(); got != opens {
		t.Errorf("part %q closed %d times, want %d", name, got, opens)
	}
	if got := s.doubles.Load(); got != 0 {
		t.Errorf("part %q: %d readers closed more than once", name, got)
	}
}

// bytesPart returns a part whose content is data, with a known size unless
// unknown is set.
func bytesPart(name, fileName, contentType string, data []byte, unknown bool) Part {
	size := int64(len(data))
	if unknown {
		size = -1
	}
	return Part{
		Name: name, FileName: fileName, ContentType: contentType, Size: size,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

func mustNew(t testing.TB, boundary string, parts []Part) *Form {
	t.Helper()
	f, err := New(boundary, parts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// readers are the ways a body is read in the tests.
var readers = []struct {
	name string
	read func(io.Reader) ([]byte, error)
}{
	{"ReadAll", func(r io.Reader) ([]byte, error) { return io.ReadAll(struct{ io.Reader }{r}) }},
	{"OneByte", func(r io.Reader) ([]byte, error) { return io.ReadAll(iotest.OneByteReader(r)) }},
	{"Read7", func(r io.Reader) ([]byte, error) { return readChunks(r, 7) }},
	{"Read4096", func(r io.Reader) ([]byte, error) { return readChunks(r, 4096) }},
	{"WriteTo", func(r io.Reader) ([]byte, error) {
		var buf bytes.Buffer
		_, err := r.(io.WriterTo).WriteTo(&buf)
		return buf.Bytes(), err
	}},
}

// readChunks reads r to the end with Read calls of size bytes.
func readChunks(r io.Reader, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		if n < 0 || n > len(buf) {
			return out, fmt.Errorf("Read returned %d", n)
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// parsed is a part as mime/multipart reads it back.
type parsed struct {
	name, fileName, contentType string
	data                        []byte
}

// parse reads body with mime/multipart, taking the boundary from the
// Content-Type header value contentType.
func parse(t testing.TB, contentType string, body []byte) []parsed {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q: %q, %v", contentType, mt, err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []parsed
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("NextRawPart: %v\nbody: %q", err, body)
		}
		disp, dparams, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err != nil || disp != "form-data" {
			t.Fatalf("Content-Disposition %q: %v", p.Header.Get("Content-Disposition"), err)
		}
		if p.FormName() != dparams["name"] {
			t.Fatalf("FormName() = %q, want %q", p.FormName(), dparams["name"])
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("reading part %q: %v", p.FormName(), err)
		}
		out = append(out, parsed{dparams["name"], dparams["filename"], p.Header.Get("Content-Type"), data})
	}
}

// reference returns what mime/multipart.Writer writes for parts with
// contents, using the CreateFormFile and CreateFormField helpers where they
// fit so that the header comes from mime/multipart itself.
func reference(t testing.TB, boundary string, parts []Part, contents [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		var w io.Writer
		var err error
		switch {
		case p.FileName != "" && p.ContentType == "application/octet-stream":
			w, err = mw.CreateFormFile(p.Name, p.FileName)
		case p.FileName == "" && p.ContentType == "":
			w, err = mw.CreateFormField(p.Name)
		default:
			// The escaping of mime/multipart's CreateFormField.
			esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace
			cd := fmt.Sprintf(`form-data; name="%s"`, esc(p.Name))
			if p.FileName != "" {
				cd += fmt.Sprintf(`; filename="%s"`, esc(p.FileName))
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", cd)
			if p.ContentType != "" {
				h.Set("Content-Type", p.ContentType)
			}
			w, err = mw.CreatePart(h)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, bytes.NewReader(contents[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if ct := mw.FormDataContentType(); ct != "multipart/form-data; boundary="+boundary &&
		ct != `multipart/form-data; boundary="`+boundary+`"` {
		t.Fatalf("unexpected reference Content-Type %q", ct)
	}
	return buf.Bytes()
}

// contentCases returns the contents that the round trip tests encode with
// boundary.
func contentCases(boundary string) map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	nb := len(boundary)
	cases := map[string][]byte{}
	for _, n := range []int{0, 1, 2, nb - 1, nb, nb + 1, nb + 4, nb + 5, 4095, 4096, 4097, 64<<10 + 3} {
		cases[fmt.Sprintf("random%d", n)] = random(n)
	}
	cases["dashes"] = []byte("--")
	cases["dashesAround"] = []byte("--middle--")
	cases["dashLines"] = []byte("--\r\n--\r\n--")
	cases["CRLF"] = []byte("\r\n")
	cases["CRLFs"] = []byte("\r\n\r\n\r\n")
	cases["LF"] = []byte("\n")
	cases["CR"] = []byte("\r")
	cases["almostBoundaryShort"] = []byte("\r\n--" + boundary[:nb-1] + "\r\n")
	cases["almostBoundaryChanged"] = []byte("\r\n--" + "\x00" + boundary[1:] + "--\r\n")
	cases["almostBoundaryLF"] = []byte("\n--" + boundary[:nb-1] + "--\n")
	cases["almostBoundaryOneDash"] = []byte("\r\n-" + boundary + "\r\n")
	cases["almostBoundaryAtStart"] = []byte("-" + boundary + "--")
	cases["almostBoundaryAtEnd"] = []byte("x\r\n--" + boundary[:nb-1])
	cases["boundaryAlone"] = []byte(boundary)
	cases["endsWithCRLFDashes"] = []byte("abc\r\n--")
	return cases
}

var testBoundaries = []string{
	"0123456789abcdef",
	"a'()+_,-./:=? z", // needs quoting in Content-Type
	strings.Repeat("Zz", 35),
	NewBoundary(),
}

func TestRoundTrip(t *testing.T) {
	for _, boundary := range testBoundaries {
		for name, content := range contentCases(boundary) {
			for _, unknown := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/unknown=%v", boundary, name, unknown), func(t *testing.T) {
					testRoundTrip(t, boundary, content, unknown)
				})
			}
		}
	}
}

func testRoundTrip(t *testing.T, boundary string, content []byte, unknown bool) {
	json := []byte(`{"a":1}`)
	parts := []Part{
		bytesPart("template", "t.docx", "application/octet-stream", content, false),
		bytesPart("data", "", "application/json", json, unknown),
		bytesPart("param.extra", "", "", content, false),
		bytesPart("last", "", "", content, false),
	}
	contents := [][]byte{content, json, content, content}
	f := mustNew(t, boundary, parts)
	ref := reference(t, boundary, parts, contents)
	if unknown {
		if got := f.ContentLength(); got != -1 {
			t.Errorf("ContentLength() = %d, want -1", got)
		}
	} else if got := f.ContentLength(); got != int64(len(ref)) {
		t.Errorf("ContentLength() = %d, want %d", got, len(ref))
	}
	for _, rd := range readers {
		body := f.Open()
		got, err := rd.read(body)
		if err != nil {
			t.Fatalf("%s: %v", rd.name, err)
		}
		if err := body.Close(); err != nil {
			t.Fatalf("%s: Close: %v", rd.name, err)
		}
		if !bytes.Equal(got, ref) {
			t.Fatalf("%s: body differs from mime/multipart.Writer's\ngot  %q\nwant %q", rd.name, trim(got), trim(ref))
		}
		if !unknown && int64(len(got)) != f.ContentLength() {
			t.Fatalf("%s: read %d bytes, ContentLength() = %d", rd.name, len(got), f.ContentLength())
		}
		ps := parse(t, f.ContentType(), got)
		if len(ps) != len(parts) {
			t.Fatalf("%s: parsed %d parts, want %d", rd.name, len(ps), len(parts))
		}
		for i, p := range ps {
			w := parts[i]
			if p.name != w.Name || p.fileName != w.FileName || p.contentType != w.ContentType || !bytes.Equal(p.data, contents[i]) {
				t.Fatalf("%s: part %d = {%q %q %q %q}, want {%q %q %q %q}", rd.name, i,
					p.name, p.fileName, p.contentType, trim(p.data), w.Name, w.FileName, w.ContentType, trim(contents[i]))
			}
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

func TestNoParts(t *testing.T) {
	f := mustNew(t, "b", nil)
	ref := reference(t, "b", nil, nil)
	for _, rd := range readers {
		got, err := rd.read(f.Open())
		if err != nil || !bytes.Equal(got, ref) {
			t.Errorf("%s: %q, %v; want %q", rd.name, got, err, ref)
		}
	}
	if f.ContentLength() != int64(len(ref)) {
		t.Errorf("ContentLength() = %d, want %d", f.ContentLength(), len(ref))
	}
}

func TestFormAccessors(t *testing.T) {
	f := mustNew(t, "abc", []Part{bytesPart("a", "", "", []byte("xyz"), false)})
	if f.Boundary() != "abc" {
		t.Errorf("Boundary() = %q", f.Boundary())
	}
	if f.ContentType() != "multipart/form-data; boundary=abc" {
		t.Errorf("ContentType() = %q", f.ContentType())
	}
	f = mustNew(t, "a b", nil)
	if f.ContentType() != `multipart/form-data; boundary="a b"` {
		t.Errorf("ContentType() = %q", f.ContentType())
	}
}

func TestNewBoundary(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		b := NewBoundary()
		if len(b) != 60 || strings.Trim(b, "0123456789abcdef") != "" {
			t.Fatalf("NewBoundary() = %q", b)
		}
		if seen[b] {
			t.Fatalf("NewBoundary() repeated %q", b)
		}
		seen[b] = true
		if _, err := New(b, nil); err != nil {
			t.Fatalf("New(%q): %v", b, err)
		}
	}
}

func TestNewRejects(t *testing.T) {
	ok := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }
	for _, bad := range []string{"", strings.Repeat("a", 71), "a\r\nb", "trailingspace ", "a\"b", "a;b", "é"} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("New accepted boundary %q", bad)
		}
	}
	badTexts := []string{"a\rb", "a\nb", "a\r\nContent-Type: text/html", "\x00", "a\tb", "\x1f", "\x7f", "a\xffb", "\xc3"}
	for _, s := range badTexts {
		for _, p := range []Part{
			{Name: s, Open: ok},
			{Name: "n", FileName: s, Open: ok},
			{Name: "n", ContentType: s, Open: ok},
		} {
			if _, err := New("b", []Part{{Name: "good", Open: ok}, p}); err == nil {
				t.Errorf("New accepted part %+q", []string{p.Name, p.FileName, p.ContentType})
			}
		}
	}
	for _, p := range []Part{
		{Name: "", Open: ok},
		{Name: "n"},
		{Name: "n", Size: -2, Open: ok},
	} {
		if _, err := New("b", []Part{p}); err == nil {
			t.Errorf("New accepted part %+v", p)
		}
	}
	huge := []Part{{Name: "a", Size: 1 << 62, Open: ok}, {Name: "b", Size: 1 << 61, Open: ok}}
	if _, err := New("b", huge); err != nil {
		t.Errorf("New rejected parts of 2**62 and 2**61 bytes: %v", err)
	}
	huge = append(huge, Part{Name: "c", Size: 1 << 62, Open: ok})
	if _, err := New("b", huge); err == nil {
		t.Error("New accepted a total size above MaxInt64")
	}
}

func TestNewCopiesParts(t *testing.T) {
	parts := []Part{bytesPart("a", "", "", []byte("x"), false)}
	f := mustNew(t, "b", parts)
	parts[0] = bytesPart("changed", "", "", []byte("yyyy"), false)
	got, err := io.ReadAll(f.Open())
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(t, "b", []Part{{Name: "a"}}, [][]byte{[]byte("x")}); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEscapedNames(t *testing.T) {
	names := []string{
		`a "quoted" name`,
		`back\slash\`,
		`\"`,
		`"`,
		`\`,
		`ünïcödé 名前 ✓`,
		`semi;colon=equals, comma`,
		`filename="evil.exe"`,
	}
	for _, name := range names {
		parts := []Part{
			bytesPart(name, name, "application/octet-stream", []byte("x"), false),
			bytesPart(name+"2", "", "", []byte("y"), false),
		}
		f := mustNew(t, "b", parts)
		body, err := io.ReadAll(f.Open())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, reference(t, "b", parts, [][]byte{[]byte("x"), []byte("y")})) {
			t.Errorf("%q: body differs from mime/multipart.Writer's: %q", name, body)
		}
		ps := parse(t, f.ContentType(), body)
		if len(ps) != 2 || ps[0].name != name || ps[0].fileName != name || ps[1].name != name+"2" || ps[1].fileName != "" {
			t.Errorf("%q: parsed back as %+q", name, ps)
		}
		// Part.FileName also strips directories, which these names lack.
		mr := multipart.NewReader(bytes.NewReader(body), "b")
		p, err := mr.NextPart()
		if err != nil || p.FileName() != name || p.FormName() != name {
			t.Errorf("%q: FileName() = %q, FormName() = %q, %v", name, p.FileName(), p.FormName(), err)
		}
	}
}

// positions returns the offsets where each part's content starts and ends.
func positions(f *Form) (starts, ends []int64) {
	var off int64
	for i, p := range f.parts {
		off += int64(len(f.frames[i]))
		starts = append(starts, off)
		off += p.Size
		ends = append(ends, off)
	}
	return starts, ends
}

func TestLazyOpenAndClose(t *testing.T) {
	srcs := []*source{
		{data: []byte("template bytes")},
		{data: nil},
		{data: nil},
		{data: []byte(`{"x":1}`)},
	}
	var parts []Part
	for i, s := range srcs {
		parts = append(parts, Part{Name: fmt.Sprint("p", i), Size: int64(len(s.data)), Open: s.open})
	}
	f := mustNew(t, "boundary", parts)
	starts, ends := positions(f)

	body := f.Open()
	for i, s := range srcs {
		if s.opens.Load() != 0 {
			t.Fatalf("Form.Open opened part %d", i)
		}
	}
	var buf [1]byte
	for k := int64(0); ; k++ {
		for i, s := range srcs {
			opened, closed := s.opens.Load() == 1, s.closes.Load() == 1
			if opened != (k > starts[i]) || closed != (k > ends[i]) {
				t.Fatalf("after %d bytes, part %d (content at %d-%d) opened=%v closed=%v", k, i, starts[i], ends[i], opened, closed)
			}
		}
		n, err := body.Read(buf[:])
		if err == io.EOF {
			if n != 0 || k != f.ContentLength() {
				t.Fatalf("EOF after %d+%d bytes, ContentLength %d", k, n, f.ContentLength())
			}
			break
		}
		if err != nil || n != 1 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := body.Read(buf[:]); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %d, %v", n, err)
	}
	for i, s := range srcs {
		s.check(t, parts[i].Name, 1)
	}

	// Each reader opens each part again.
	for _, rd := range readers {
		if _, err := rd.read(f.Open()); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range srcs {
		s.check(t, parts[i].Name, int32(1+len(readers)))
	}
}

func TestClose(t *testing.T) {
	newForm := func() (*Form, []*source) {
		srcs := []*source{{data: bytes.Repeat([]byte("a"), 100)}, {data: []byte("b")}}
		f := mustNew(t, "bnd", []Part{
			{Name: "a", Size: 100, Open: srcs[0].open},
			{Name: "b", Size: 1, Open: srcs[1].open},
		})
		return f, srcs
	}
	readAfterClose := func(t *testing.T, body io.ReadCloser) {
		t.Helper()
		if n, err := body.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrClosed) {
			t.Errorf("Read after Close = %d, %v", n, err)
		}
		if n, err := body.(io.WriterTo).WriteTo(io.Discard); n != 0 || !errors.Is(err, ErrClosed) {
			t.Errorf("WriteTo after Close = %d, %v", n, err)
		}
	}

	t.Run("BeforeRead", func(t *testing.T) {
		f, srcs := newForm()
		body := f.Open()
		for range 2 {
			if err := body.Close(); err != nil {
				t.Fatal(err)
			}
		}
		readAfterClose(t, body)
		srcs[0].check(t, "a", 0)
		srcs[1].check(t, "b", 0)
	})
	t.Run("MidPart", func(t *testing.T) {
		f, srcs := newForm()
		body := f.Open()
		starts, _ := positions(f)
		if _, err := io.ReadFull(body, make([]byte, starts[0]+10)); err != nil {
			t.Fatal(err)
		}
		if srcs[0].opens.Load() != 1 || srcs[0].closes.Load() != 0 {
			t.Fatal("part a not open")
		}
		for range 3 {
			if err := body.Close(); err != nil {
				t.Fatal(err)
			}
		}
		readAfterClose(t, body)
		srcs[0].check(t, "a", 1)
		srcs[1].check(t, "b", 0)
	})
	t.Run("AfterEOF", func(t *testing.T) {
		f, srcs := newForm()
		body := f.Open()
		if _, err := io.Copy(io.Discard, body); err != nil {
			t.Fatal(err)
		}
		body.Close()
		body.Close()
		readAfterClose(t, body)
		srcs[0].check(t, "a", 1)
		srcs[1].check(t, "b", 1)
	})
	t.Run("CloseError", func(t *testing.T) {
		closeErr := errors.New("close failed")
		f := mustNew(t, "bnd", []Part{{Name: "a", Size: 3, Open: func() (io.ReadCloser, error) {
			return errCloser{strings.NewReader("abc"), closeErr}, nil
		}}})
		body := f.Open()
		if _, err := io.Copy(io.Discard, body); !errors.Is(err, closeErr) || !isSourceError(err, "a") {
			t.Errorf("read to end = %v, want %v from part a", err, closeErr)
		}
		body = f.Open()
		if _, err := body.Read(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if err := body.Close(); err != closeErr {
			t.Errorf("Close = %v, want %v", err, closeErr)
		}
	})
}

type errCloser struct {
	io.Reader
	err error
}

func (c errCloser) Close() error { return c.err }

func isSourceError(err error, part string) bool {
	var se *SourceError
	return errors.As(err, &se) && se.Part == part
}

// faultyReader yields data, then fails with err.
type faultyReader struct {
	data []byte
	err  error
}

func (r *faultyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestSourceErrors(t *testing.T) {
	diskGone := errors.New("disk gone")
	cases := []struct {
		name     string
		size     int64
		open     func() (io.ReadCloser, error)
		is       error
		message  string
		produced int64 // content bytes of part "bad" that may be produced
	}{
		{"short", 12, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("0123456789")), nil
		}, ErrSizeMismatch, `formdata: part "bad": content is 10 bytes, declared 12`, 10},
		{"long", 10, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("0123456789AB")), nil
		}, ErrSizeMismatch, `formdata: part "bad": content is longer than its declared 10 bytes`, 10},
		{"longByOne", 10, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("0123456789A")), nil
		}, ErrSizeMismatch, `formdata: part "bad": content is longer than its declared 10 bytes`, 10},
		{"emptyButDeclared", 1, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("")), nil
		}, ErrSizeMismatch, `formdata: part "bad": content is 0 bytes, declared 1`, 0},
		{"readError", 10, func() (io.ReadCloser, error) {
			return io.NopCloser(&faultyReader{[]byte("01234"), diskGone}), nil
		}, diskGone, `formdata: part "bad": disk gone`, 5},
		{"readErrorUnknownSize", -1, func() (io.ReadCloser, error) {
			return io.NopCloser(&faultyReader{[]byte("01234"), diskGone}), nil
		}, diskGone, `formdata: part "bad": disk gone`, 5},
		{"openError", 10, func() (io.ReadCloser, error) {
			return nil, diskGone
		}, diskGone, `formdata: part "bad": disk gone`, 0},
		{"openNil", 10, func() (io.ReadCloser, error) {
			return nil, nil
		}, nil, `formdata: part "bad": Open returned a nil reader`, 0},
	}
	for _, tc := range cases {
		for _, rd := range readers {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				var opens, closes atomic.Int32
				after := &source{data: []byte("after")}
				f := mustNew(t, "bnd", []Part{
					bytesPart("first", "", "", []byte("first"), false),
					{Name: "bad", Size: tc.size, Open: func() (io.ReadCloser, error) {
						opens.Add(1)
						rc, err := tc.open()
						if rc != nil {
							rc = &countCloser{rc, &closes}
						}
						return rc, err
					}},
					{Name: "after", Size: 5, Open: after.open},
				})
				starts, _ := positions(f)
				body := f.Open()
				got, err := rd.read(body)
				if err == nil {
					t.Fatal("no error")
				}
				if !isSourceError(err, "bad") {
					t.Errorf("error %v (%T) is not a *SourceError for part bad", err, err)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error %v does not match %v", err, tc.is)
				}
				if err.Error() != tc.message {
					t.Errorf("error message %q, want %q", err.Error(), tc.message)
				}
				if max := starts[1] + tc.produced; int64(len(got)) > max {
					t.Errorf("produced %d bytes, want at most %d", len(got), max)
				}
				if int64(len(got)) < starts[1] {
					t.Errorf("produced %d bytes, want at least %d", len(got), starts[1])
				}
				// The error sticks.
				if n, err2 := body.Read(make([]byte, 10)); n != 0 || err2 != err {
					t.Errorf("second Read = %d, %v; want 0, %v", n, err2, err)
				}
				if err := body.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				wantCloses := int32(1)
				if tc.name == "openError" || tc.name == "openNil" {
					wantCloses = 0
				}
				if opens.Load() != 1 || closes.Load() != wantCloses {
					t.Errorf("source opened %d times and closed %d times", opens.Load(), closes.Load())
				}
				after.check(t, "after", 0)
			})
		}
	}
}

type countCloser struct {
	io.ReadCloser
	n *atomic.Int32
}

func (c *countCloser) Close() error {
	c.n.Add(1)
	return c.ReadCloser.Close()
}

// failWriter accepts limit bytes, then fails.
type failWriter struct {
	limit int
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.limit {
		w.limit -= len(p)
		return len(p), nil
	}
	n := w.limit
	w.limit = 0
	return n, w.err
}

func TestWriteToWriterError(t *testing.T) {
	netDown := errors.New("network down")
	src := &source{data: bytes.Repeat([]byte("x"), 1000)}
	f := mustNew(t, "bnd", []Part{{Name: "a", Size: 1000, Open: src.open}})
	for _, limit := range []int{0, 5, 100, 500, int(f.ContentLength()) - 3} {
		body := f.Open()
		n, err := body.(io.WriterTo).WriteTo(&failWriter{limit, netDown})
		if err != netDown || n != int64(limit) {
			t.Errorf("limit %d: WriteTo = %d, %v; want %d, %v", limit, n, err, limit, netDown)
		}
		var se *SourceError
		if errors.As(err, &se) {
			t.Errorf("writer error reported as a source error: %v", err)
		}
		if _, err := body.Read(make([]byte, 10)); err != netDown {
			t.Errorf("Read after a failed WriteTo = %v", err)
		}
		body.Close()
	}
	src.check(t, "a", 3) // the first two fail before part a
}

// TestMixedReadWriteTo checks that WriteTo continues where Read stopped.
func TestMixedReadWriteTo(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 50)
	parts := []Part{
		bytesPart("a", "a.bin", "application/octet-stream", content, false),
		bytesPart("b", "", "", content, true),
	}
	f := mustNew(t, "bnd", parts)
	want := reference(t, "bnd", parts, [][]byte{content, content})
	for k := 0; k <= len(want); k += 7 {
		body := f.Open()
		head := make([]byte, k)
		if _, err := io.ReadFull(body, head); err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		if _, err := body.(io.WriterTo).WriteTo(&rest); err != nil {
			t.Fatal(err)
		}
		if got := append(head, rest.Bytes()...); !bytes.Equal(got, want) {
			t.Fatalf("after reading %d bytes: body differs", k)
		}
	}
}

// blockingSource blocks in Read until it is closed, like a pipe.
type blockingSource struct {
	reading chan struct{}
	done    chan struct{}
	closes  atomic.Int32
}

func (s *blockingSource) Read(p []byte) (int, error) {
	select {
	case s.reading <- struct{}{}:
	default:
	}
	<-s.done
	return 0, os.ErrClosed
}

func (s *blockingSource) Close() error {
	if s.closes.Add(1) == 1 {
		close(s.done)
	}
	return nil
}

func TestCloseUnblocksRead(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			src := &blockingSource{reading: make(chan struct{}, 1), done: make(chan struct{})}
			f := mustNew(t, "bnd", []Part{{Name: "slow", Size: -1, Open: func() (io.ReadCloser, error) { return src, nil }}})
			body := f.Open()
			errc := make(chan error, 1)
			go func() {
				_, err := rd.read(body)
				errc <- err
			}()
			<-src.reading
			if err := body.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("read = %v, want ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not unblock Read")
			}
			if n := src.closes.Load(); n != 1 {
				t.Errorf("source closed %d times", n)
			}
		})
	}
}

// TestConcurrentClose closes bodies at random moments while another
// goroutine reads them. Run it with -race.
func TestConcurrentClose(t *testing.T) {
	srcs := []*source{
		{data: bytes.Repeat([]byte("a"), 3000)},
		{data: bytes.Repeat([]byte("b"), 10)},
		{data: bytes.Repeat([]byte("c"), 5000)},
	}
	var parts []Part
	for i, s := range srcs {
		parts = append(parts, Part{Name: fmt.Sprint("p", i), Size: int64(len(s.data)), Open: s.open})
	}
	f := mustNew(t, NewBoundary(), parts)
	const rounds = 300
	var wg sync.WaitGroup
	var interrupted atomic.Int32
	for i := range rounds {
		body := f.Open()
		started := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			close(started)
			var err error
			if i%2 == 0 {
				_, err = readChunks(body, 64)
			} else {
				_, err = body.(io.WriterTo).WriteTo(io.Discard)
			}
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("read: %v", err)
			}
			if err != nil {
				interrupted.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			<-started
			for range i % 50 {
				time.Sleep(time.Microsecond)
			}
			body.Close()
			body.Close()
		}()
	}
	wg.Wait()
	t.Logf("%d of %d reads interrupted by Close", interrupted.Load(), rounds)
	for i, s := range srcs {
		if o, c := s.opens.Load(), s.closes.Load(); o != c || s.doubles.Load() != 0 {
			t.Errorf("part %d: %d opens, %d closes, %d double closes", i, o, c, s.doubles.Load())
		}
	}
}

func TestReadAllocs(t *testing.T) {
	content := make([]byte, 64<<20)
	f := mustNew(t, NewBoundary(), []Part{
		bytesPart("a", "", "", []byte("small"), false),
		bytesPart("big", "big.bin", "application/octet-stream", content, false),
	})
	body := f.Open()
	defer body.Close()
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(body, buf); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := body.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Read", allocs)
	}
}

// TestSourceReadPatterns checks sources that return data with io.EOF, short
// reads and one byte at a time.
func TestSourceReadPatterns(t *testing.T) {
	content := []byte("0123456789\r\n--abcdef")
	wrappers := map[string]func(io.Reader) io.Reader{
		"DataErr": iotest.DataErrReader,
		"Half":    iotest.HalfReader,
		"OneByte": iotest.OneByteReader,
	}
	for name, wrap := range wrappers {
		parts := []Part{
			{Name: "a", Size: int64(len(content)), Open: func() (io.ReadCloser, error) {
				return io.NopCloser(wrap(bytes.NewReader(content))), nil
			}},
			{Name: "b", Size: -1, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(wrap(bytes.NewReader(content))), nil
			}},
		}
		f := mustNew(t, "abcdefg", parts)
		want := reference(t, "abcdefg", parts, [][]byte{content, content})
		for _, rd := range readers {
			got, err := rd.read(f.Open())
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s: %q, %v; want %q", name, rd.name, got, err, want)
			}
		}
	}
}

func TestFileSource(t *testing.T) {
	content := bytes.Repeat([]byte("file content\r\n--"), 10000)
	path := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	parts := []Part{
		{Name: "template", FileName: "src.bin", ContentType: "application/octet-stream", Size: int64(len(content)),
			Open: func() (io.ReadCloser, error) { return os.Open(path) }},
		bytesPart("data", "", "application/json", []byte("{}"), false),
	}
	f := mustNew(t, NewBoundary(), parts)
	want := reference(t, f.Boundary(), parts, [][]byte{content, []byte("{}")})
	for _, rd := range readers {
		got, err := rd.read(f.Open())
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", rd.name, len(got), err, len(want))
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("boundary", "template", "t.docx", []byte("hello"), []byte(`{"a":1}`), false, uint8(0))
	f.Add("b", "n", "", []byte("-b--\r\n-"), []byte("\r\n--\r\n"), true, uint8(1))
	f.Add("a'()+_,-./:=? z", `na"me\`, `C:\dir\"x".txt`, []byte{}, []byte("--"), false, uint8(3))
	f.Add(NewBoundary(), "ünï", "名前.txt", bytes.Repeat([]byte("\r\n-"), 2000), []byte("\n"), true, uint8(200))
	f.Fuzz(func(t *testing.T, boundary, name, fileName string, a, b []byte, unknown bool, chunk uint8) {
		parts := []Part{
			bytesPart(name, fileName, "application/octet-stream", a, false),
			bytesPart(name+".2", "", "", b, unknown),
		}
		form, err := New(boundary, parts)
		if err != nil {
			return
		}
		// Content that holds the delimiter cannot be told apart from it.
		delim := []byte("--" + boundary)
		if bytes.Contains(a, delim) || bytes.Contains(b, delim) {
			t.Skip()
		}
		body := form.Open()
		var got []byte
		if chunk == 0 {
			var buf bytes.Buffer
			_, err = body.(io.WriterTo).WriteTo(&buf)
			got = buf.Bytes()
		} else {
			got, err = readChunks(body, int(chunk))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := body.Close(); err != nil {
			t.Fatal(err)
		}
		if want := reference(t, boundary, parts, [][]byte{a, b}); !bytes.Equal(got, want) {
			t.Fatalf("body differs from mime/multipart.Writer's\ngot  %q\nwant %q", got, want)
		}
		if cl := form.ContentLength(); unknown && cl != -1 || !unknown && cl != int64(len(got)) {
			t.Fatalf("ContentLength() = %d, read %d bytes (unknown=%v)", cl, len(got), unknown)
		}
		ps := parse(t, form.ContentType(), got)
		if len(ps) != 2 {
			t.Fatalf("parsed %d parts", len(ps))
		}
		if ps[0].name != name || ps[0].fileName != fileName || ps[0].contentType != "application/octet-stream" || !bytes.Equal(ps[0].data, a) {
			t.Fatalf("part 0 = %+q", ps[0])
		}
		if ps[1].name != name+".2" || ps[1].fileName != "" || ps[1].contentType != "" || !bytes.Equal(ps[1].data, b) {
			t.Fatalf("part 1 = %+q", ps[1])
		}
	})
}

// copySink consumes what is written to it by copying it into a small
// buffer, as a buffered network writer would. It has no ReadFrom method.
type copySink struct{ buf [32 << 10]byte }

func (s *copySink) Write(p []byte) (int, error) {
	for n := 0; n < len(p); {
		n += copy(s.buf[:], p[n:])
	}
	return len(p), nil
}

// BenchmarkEncode drains a body with a 64 MiB part, from memory or from a
// file, through Read calls or through WriteTo, into io.Discard (whose
// ReadFrom reads 8 KiB at a time, and which never looks at what WriteTo
// hands it) or into a copySink (io.Copy then reads 32 KiB at a time).
func BenchmarkEncode(b *testing.B) {
	const size = 64 << 20
	content := make([]byte, size)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	path := filepath.Join(b.TempDir(), "big.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		b.Fatal(err)
	}
	sources := []struct {
		name string
		open func() (io.ReadCloser, error)
	}{
		{"Memory", func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }},
		{"File", func() (io.ReadCloser, error) { return os.Open(path) }},
	}
	sink := &copySink{}
	drains := []struct {
		name  string
		drain func(io.Reader) (int64, error)
	}{
		{"Discard/Read", func(r io.Reader) (int64, error) { return io.Copy(io.Discard, struct{ io.Reader }{r}) }},
		{"Discard/WriteTo", func(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }},
		{"Copy/Read", func(r io.Reader) (int64, error) { return io.Copy(sink, struct{ io.Reader }{r}) }},
		{"Copy/WriteTo", func(r io.Reader) (int64, error) { return io.Copy(sink, r) }},
	}
	for _, src := range sources {
		form := mustNew(b, NewBoundary(), []Part{
			{Name: "template", FileName: "big.bin", ContentType: "application/octet-stream", Size: size, Open: src.open},
			bytesPart("data", "", "application/json", []byte(`{"name":"value"}`), false),
		})
		for _, d := range drains {
			b.Run(src.name+"/"+d.name, func(b *testing.B) {
				b.SetBytes(form.ContentLength())
				b.ReportAllocs()
				for range b.N {
					body := form.Open()
					n, err := d.drain(body)
					if err != nil || n != form.ContentLength() {
						b.Fatalf("drained %d bytes, %v", n, err)
					}
					body.Close()
				}
			})
		}
	}
}
