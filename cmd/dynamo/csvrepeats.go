package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"unsafe"
)

// duplicateCheck finds, in a file of any size, the records that repeat an
// earlier one, holding 16 bytes a record: a 64-bit hash of the record's id
// and one of the whole record. It refuses a record identical to an earlier
// one (the same id and params), naming both lines, and warns of an id
// repeated with other params, as readAllCSV does for a file that fits in a
// batch.
//
// While the file is read, each record's two hashes are kept; at its end they
// are sorted, which brings the records of one id hash together. Only when
// some id hash is shared does a second look follow: the file is read again,
// and each record whose id hash is shared is compared with the earlier
// records of that hash, read back from the file at their offsets, field by
// field. Hashes that collide are thus told apart, and the lines named are
// those of records that are truly the same. That look holds, besides the
// hashes, the line and offset of the first record of each repeated id and of
// each repeated record; a file without repeats holds nothing more.
//
// The hashes are keyed with a random seed for each run, so a file cannot be
// crafted to make them collide; they are only a first sorting, never the
// verdict.
type duplicateCheck struct {
	warn io.Writer
	// reserve, if set, is told how many bytes the hashes take, once the
	// file's lines are counted.
	reserve func(bytes int64)
	// hash hashes a record's id, or its fields; tests give it a weak one.
	hash func(seed maphash.Seed, b []byte) uint64
}

func newDuplicateCheck(warn io.Writer) *duplicateCheck {
	return &duplicateCheck{warn: warn, hash: maphash.Bytes}
}

// rowHash is the hashes of one record: 16 bytes.
type rowHash struct{ id, row uint64 }

func compareRowHash(a, b rowHash) int {
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// rowHashes are the hashes of every record read so far.
type rowHashes struct {
	path  string
	check *duplicateCheck
	seed  maphash.Seed
	all   []rowHash
	buf   []byte
}

// start prepares the hashes of path's records. The file's lines are counted
// first (a fast scan), so that the hashes take one allocation of at most 16
// bytes a line, and never the spare room of a growing slice.
func (d *duplicateCheck) start(path string) (*rowHashes, error) {
	lines, err := countLines(path)
	if err != nil {
		return nil, &inputError{file: path, msg: openProblem(err)}
	}
	if d.reserve != nil {
		d.reserve(int64(lines+1) * int64(unsafe.Sizeof(rowHash{})))
	}
	return &rowHashes{path: path, check: d, seed: maphash.MakeSeed(), all: make([]rowHash, 0, lines+1)}, nil
}

// countLines counts the newlines in the file at path: a CSV file has at
// most one record more than that.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	n := 0
	for {
		m, err := f.Read(buf)
		n += bytes.Count(buf[:m], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// hashes returns the hashes of a record whose id is fields[idCol].
func (h *rowHashes) hashes(idCol int, fields []string) rowHash {
	h.buf = append(h.buf[:0], fields[idCol]...)
	id := h.check.hash(h.seed, h.buf)
	h.buf = h.buf[:0]
	for _, f := range fields {
		// Each field's length first, so that "ab","c" and "a","bc" differ.
		h.buf = binary.AppendUvarint(h.buf, uint64(len(f)))
		h.buf = append(h.buf, f...)
	}
	return rowHash{id: id, row: h.check.hash(h.seed, h.buf)}
}

// add keeps the hashes of the record just read. h may be nil (no check).
func (h *rowHashes) add(idCol int, fields []string) {
	if h == nil {
		return
	}
	if len(h.all) == cap(h.all) {
		// More records than lines counted: the file grew since. Growing is
		// still correct, only less frugal.
		h.all = slices.Grow(h.all, len(h.all)/4+1)
	}
	h.all = append(h.all, h.hashes(idCol, fields))
}

// shared reports whether another record has the id hash of r (id), and
// whether another has both its hashes (row).
func (h *rowHashes) shared(r rowHash) (id, row bool) {
	i, found := slices.BinarySearchFunc(h.all, r, compareRowHash)
	if !found {
		return false, false // the file changed since the first read
	}
	j := i + 1 // past r's equal hashes
	for j < len(h.all) && h.all[j] == r {
		j++
	}
	row = j-i > 1
	id = row || (i > 0 && h.all[i-1].id == r.id) || (j < len(h.all) && h.all[j].id == r.id)
	return id, row
}

// seenRecord is a record met in the second look: its line and its offset
// in the file, to read it back.
type seenRecord struct {
	line   int
	offset int64
}

// finish gives the verdict once every record is read: an error naming the
// first record (in file order) identical to an earlier one, and warnings
// for the ids repeated with other params. d and h may be nil (no check).
func (d *duplicateCheck) finish(ctx context.Context, h *rowHashes) error {
	if d == nil || h == nil {
		return nil
	}
	defer func() { h.all = nil }()
	// Sorted by id hash first, then by row hash the few records of an id
	// hash that repeats: a quarter faster than comparing both each time.
	slices.SortFunc(h.all, func(a, b rowHash) int { return cmp.Compare(a.id, b.id) })
	repeats := false
	for i := 0; i < len(h.all); {
		j := i + 1
		for j < len(h.all) && h.all[j].id == h.all[i].id {
			j++
		}
		if j-i > 1 {
			repeats = true
			slices.SortFunc(h.all[i:j], compareRowHash)
		}
		i = j
	}
	if !repeats {
		return nil
	}
	return d.secondLook(ctx, h)
}

// secondLook reads the file again to name the lines of the records whose
// hashes are shared, comparing each with the earlier records it may repeat.
func (d *duplicateCheck) secondLook(ctx context.Context, h *rowHashes) error {
	c, err := openCSV(h.path)
	if err != nil {
		return err
	}
	defer c.Close()
	back, err := newReadBack(c)
	if err != nil {
		return err
	}
	defer back.close()
	ids := make(map[uint64][]seenRecord)   // by id hash: the first record of each id
	rows := make(map[rowHash][]seenRecord) // by hash: the first of each record
	w := repeatWarner{name: c.name, w: d.warn}
	defer w.summary()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		offset := c.r.InputOffset()
		if _, err := c.next(nil); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		r := h.hashes(c.idCol, c.rec)
		sharedID, sharedRow := h.shared(r)
		if !sharedID {
			continue
		}
		this := seenRecord{line: c.line, offset: offset}
		if sharedRow {
			same, err := back.match(rows[r], func(rec []string) bool { return slices.Equal(rec, c.rec) })
			if err != nil {
				return err
			}
			if same != nil {
				return c.errorf(c.line, "the same record as line %d (id %s); give --allow-duplicates to post both", same.line, c.rec[c.idCol])
			}
			rows[r] = append(rows[r], this)
		}
		id := c.rec[c.idCol]
		first, err := back.match(ids[r.id], func(rec []string) bool { return rec[c.idCol] == id })
		if err != nil {
			return err
		}
		if first == nil {
			ids[r.id] = append(ids[r.id], this)
			continue
		}
		w.repeat(c.line, id, first.line)
	}
}

// readBack reads records back from the file at their offsets.
type readBack struct {
	name string
	f    *os.File
	size int64
	skip int64 // the byte order mark's length, which offsets do not count
}

func newReadBack(c *csvRecords) (*readBack, error) {
	f, err := os.Open(c.f.Name())
	if err != nil {
		return nil, &inputError{file: c.name, msg: openProblem(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &inputError{file: c.name, msg: openProblem(err)}
	}
	b := &readBack{name: c.name, f: f, size: st.Size()}
	var head [3]byte
	if n, _ := f.ReadAt(head[:], 0); n == 3 && bytes.Equal(head[:], utf8BOM) {
		b.skip = 3
	}
	return b, nil
}

func (b *readBack) close() { b.f.Close() }

// match returns the first of the records seen for which same is true, nil
// if none is.
func (b *readBack) match(seen []seenRecord, same func(rec []string) bool) (*seenRecord, error) {
	for i := range seen {
		start := b.skip + seen[i].offset
		r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(b.f, start, b.size-start), 4096))
		r.FieldsPerRecord = -1
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, &inputError{file: b.name, line: seen[i].line, msg: fmt.Sprintf("reading the record again: %v (did the file change?)", err)}
		}
		if same(rec) {
			return &seen[i], nil
		}
	}
	return nil, nil
}

// repeatWarner warns of the records that repeat an earlier id with other
// params: the first few one by one, then a count.
type repeatWarner struct {
	name string
	w    io.Writer
	n    int
}

func (r *repeatWarner) repeat(line int, id string, first int) {
	if r.n++; r.n <= maxRepeatWarnings {
		fmt.Fprintln(r.w, printable(fmt.Sprintf("dynamo: %s:%d: id %s also on line %d, with other params", r.name, line, id, first)))
	}
}

func (r *repeatWarner) summary() {
	if n := r.n - maxRepeatWarnings; n > 0 {
		what := "records repeat"
		if n == 1 {
			what = "record repeats"
		}
		fmt.Fprintln(r.w, printable(fmt.Sprintf("dynamo: %s: %d more %s an earlier id with other params", r.name, n, what)))
	}
}
