package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dynamokit/dynamo"
)

// inputError is a problem in an input file, at a line when line > 0.
type inputError struct {
	file string
	line int
	msg  string
}

func (e *inputError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

// csvRecords reads tasks from a CSV file: a header row, then one record per
// task. The column "id" (in any letter case, so that a Salesforce export's
// "Id" works) is the record ID; every other column becomes a string param
// named after its header. Records are read one at a time, so a file of any
// size takes constant memory.
type csvRecords struct {
	name   string // the path as given, for messages
	f      *os.File
	r      *csv.Reader
	header []string
	idCol  int
	line   int      // the line of the record last read
	rec    []string // the fields of the record last read
}

// openCSV opens path and reads its header.
func openCSV(path string) (*csvRecords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &inputError{file: path, msg: openProblem(err)}
	}
	c := &csvRecords{name: path, f: f, r: csv.NewReader(skipBOM(f))}
	c.r.FieldsPerRecord = -1 // ragged rows are reported here, with both counts
	// A record's fields are used before the next is read, and strings
	// taken from them outlive the slice: it can be reused.
	c.r.ReuseRecord = true
	if err := c.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// utf8BOM is the byte order mark that spreadsheets write at the start of a
// UTF-8 CSV file (Excel's "CSV UTF-8").
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// skipBOM returns r without a leading UTF-8 byte order mark. The mark has to
// go before encoding/csv sees it: ahead of a quoted header ("id",...) it makes
// the opening quote a bare quote in a non-quoted field. A mark anywhere else
// is data and is kept. The mark holds no newline, so line numbers stay those
// of the file, and columns of the first line count from its first visible
// character, as an editor shows them.
func skipBOM(r io.Reader) io.Reader {
	// csv.NewReader reuses a *bufio.Reader as it is, so peeking here adds no
	// second buffer.
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM)) // cannot fail: the bytes are buffered
	}
	return br
}

// openProblem words a failure to open an input file without repeating its
// path.
func openProblem(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (c *csvRecords) Close() error { return c.f.Close() }

func (c *csvRecords) errorf(line int, format string, args ...any) error {
	return &inputError{file: c.name, line: line, msg: fmt.Sprintf(format, args...)}
}

// parseError turns an encoding/csv error into one naming the file and line.
func (c *csvRecords) parseError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return c.errorf(pe.Line, "%v", pe.Err)
	}
	return c.errorf(0, "%v", err)
}

func (c *csvRecords) readHeader() error {
	header, err := c.r.Read()
	switch {
	case err == io.EOF:
		return c.errorf(0, "empty file: expected a header row with an id column")
	case err != nil:
		return c.parseError(err)
	}
	c.idCol = -1
	seen := make(map[string]bool, len(header))
	for i, name := range header {
		line, _ := c.r.FieldPos(i)
		switch {
		case !utf8.ValidString(name):
			return c.errorf(line, "invalid UTF-8 in the header, column %d", i+1)
		case name == "":
			return c.errorf(line, "column %d of the header has no name", i+1)
		case strings.EqualFold(name, "id"):
			if c.idCol >= 0 {
				return c.errorf(line, "two id columns in the header (%q and %q)", header[c.idCol], name)
			}
			c.idCol = i
		case seen[name]:
			return c.errorf(line, "column %q appears twice in the header", name)
		}
		seen[name] = true
	}
	if c.idCol < 0 {
		line, _ := c.r.FieldPos(0)
		return c.errorf(line, "no id column in the header (columns: %s)", strings.Join(header, ", "))
	}
	c.header = slices.Clone(header) // the reader reuses the slice
	return nil
}

// columns returns the names of the param columns (every one but id).
func (c *csvRecords) columns() []string {
	var cols []string
	for i, name := range c.header {
		if i != c.idCol {
			cols = append(cols, name)
		}
	}
	return cols
}

// next reads the next record as a task's params, with base added to each.
// It returns io.EOF after the last record.
func (c *csvRecords) next(base map[string]string) (dynamo.Params, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, c.parseError(err)
	}
	c.line, _ = c.r.FieldPos(0)
	c.rec = rec
	if len(rec) != len(c.header) {
		return nil, c.errorf(c.line, "%d fields, but the header has %d", len(rec), len(c.header))
	}
	params := make(dynamo.Params, len(rec)+len(base))
	for k, v := range base {
		params[k] = v
	}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			line, _ := c.r.FieldPos(i)
			return nil, c.errorf(line, "invalid UTF-8 in column %q", c.header[i])
		}
		if i == c.idCol {
			if strings.TrimSpace(v) == "" {
				line, _ := c.r.FieldPos(i)
				return nil, c.errorf(line, "empty id")
			}
			params["id"] = v
			continue
		}
		params[c.header[i]] = v
	}
	return params, nil
}

// duplicatePolicy says what readAllCSV does with a record that repeats an
// earlier one.
type duplicatePolicy struct {
	// allow posts a record identical to an earlier one (--allow-duplicates)
	// instead of refusing the file: the same task twice is more often an
	// export's mistake than a wish, and it costs a licence each time.
	allow bool
	// warn receives a line for each record whose id is on an earlier line
	// with other params. Such records are posted (an export that joins
	// tables repeats ids on purpose), but the user should know.
	warn io.Writer
}

// maxRepeatWarnings bounds the records listed one by one for repeating an
// id with other params; a file that does so on every line gets a count of
// the rest instead of a screenful per thousand records.
const maxRepeatWarnings = 10

// readAllCSV reads every record of path as a task, each with the params of
// base and the part mappings of parts. With limit >= 0, a file of more than
// limit records is refused with a message suggesting bulk. A record that
// repeats an earlier one is handled as dup says.
func readAllCSV(path string, base map[string]string, parts []PartFlag, limit int, dup duplicatePolicy) ([]dynamo.Task, error) {
	c, err := openCSV(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := checkColumns(c, base, parts); err != nil {
		return nil, err
	}
	seen := newRecordSet()
	repeats := 0 // records whose id is on an earlier line with other params
	defer func() {
		if n := repeats - maxRepeatWarnings; n > 0 {
			what := "records repeat"
			if n == 1 {
				what = "record repeats"
			}
			fmt.Fprintln(dup.warn, printable(fmt.Sprintf("dynamo: %s: %d more %s an earlier id with other params", c.name, n, what)))
		}
	}()
	var tasks []dynamo.Task
	for {
		params, err := c.next(base)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if limit >= 0 && len(tasks) == limit {
			return nil, c.errorf(c.line, "more than %d records, the most one batch holds: use 'dynamo bulk' to post them in several batches", limit)
		}
		// An identical record that --allow-duplicates lets through goes
		// without a word: the user asked for it.
		id := c.rec[c.idCol]
		same, idLine := seen.add(c.line, id, c.rec)
		switch {
		case same > 0 && !dup.allow:
			return nil, c.errorf(c.line, "the same record as line %d (id %s); give --allow-duplicates to post both", same, id)
		case same == 0 && idLine > 0:
			if repeats++; repeats <= maxRepeatWarnings {
				fmt.Fprintln(dup.warn, printable(fmt.Sprintf("dynamo: %s:%d: id %s also on line %d, with other params", c.name, c.line, id, idLine)))
			}
		}
		tasks = append(tasks, taskOf(params, parts))
	}
	if len(tasks) == 0 {
		return nil, c.errorf(0, "no records after the header")
	}
	return tasks, nil
}

// recordSet remembers the records read so far, to tell one that repeats an
// earlier record. It keeps a digest of each record and the first line of
// each id, not the records themselves: some tens of bytes a record besides
// its id.
type recordSet struct {
	ids     map[string]int            // id → the line of its first record
	records map[[sha256.Size]byte]int // a record's digest → its first line
	h       hash.Hash
	buf     []byte
}

func newRecordSet() *recordSet {
	return &recordSet{ids: make(map[string]int), records: make(map[[sha256.Size]byte]int), h: sha256.New()}
}

// add remembers the record on line, of the given id and fields, and reports
// the line of an earlier identical record (same) and the first line of its
// id (idLine), each 0 when there is none.
//
// Two records are the same task exactly when their fields are equal: every
// record has the header's columns in the header's order, and --param and
// --part add the same to each. The digest is SHA-256 rather than a faster,
// non-cryptographic hash because the file comes from elsewhere: records
// crafted to collide would be refused as identical when they are not.
func (s *recordSet) add(line int, id string, fields []string) (same, idLine int) {
	s.h.Reset()
	for _, f := range fields {
		// Each field's length first, so that "ab","c" and "a","bc" differ.
		s.buf = binary.AppendUvarint(s.buf[:0], uint64(len(f)))
		s.h.Write(s.buf)
		io.WriteString(s.h, f)
	}
	var sum [sha256.Size]byte
	s.h.Sum(sum[:0])
	same = s.records[sum]
	if same == 0 {
		s.records[sum] = line
	}
	idLine = s.ids[id]
	if idLine == 0 {
		// encoding/csv cuts a record's fields from one string: a copy keeps
		// the id without the rest of the record.
		s.ids[strings.Clone(id)] = line
	}
	return same, idLine
}

// checkColumns refuses a CSV column that a --param or a --part would
// silently overwrite.
func checkColumns(c *csvRecords, base map[string]string, parts []PartFlag) error {
	for _, col := range c.columns() {
		if _, ok := base[col]; ok {
			return usageErrorf("--param %s: %s also has a column %q", col, c.name, col)
		}
		for _, p := range parts {
			if p.Name == col {
				return usageErrorf("--part %s: %s also has a column %q", p.Name, c.name, col)
			}
		}
	}
	return nil
}

// taskOf makes a task of params that receives every part under the part's
// own name.
func taskOf(params dynamo.Params, parts []PartFlag) dynamo.Task {
	t := dynamo.Task{Params: params}
	for _, p := range parts {
		t.PartParams = append(t.PartParams, dynamo.PartParam{PartName: p.Name, ParamName: p.Name})
	}
	return t
}
