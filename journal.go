package dynamo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrJournalMismatch matches the error of PostBulk when its journal (see
// WithJournal) was written for another job: another template, chunk size or
// set of records. Nothing is posted then; a new job needs a new journal file.
var ErrJournalMismatch = errors.New("dynamo: the journal belongs to a different job")

// ErrJournalInUse matches the error of PostBulk when another run, in this
// process or another, holds the lock of its journal (see WithJournal).
// Nothing is posted then.
var ErrJournalInUse = errors.New("dynamo: the journal is in use by another run")

// errLocked is lockFile's error when another open file holds the lock.
var errLocked = errors.New("locked")

// journalVersion is the format of the lines PostBulk writes. Version 1 had
// outcome lines only; version 2 adds the "posting" line written ahead. A
// line of another version is refused rather than misread.
const journalVersion = 2

// The state of a chunk in the journal.
const (
	// journalPosting: the chunk is about to be sent; its outcome follows on
	// a later line, unless the run died first.
	journalPosting = "posting"
	// journalAccepted: the API accepted the chunk's batch.
	journalAccepted = "accepted"
	// journalUnknown: the post may have created the batch, or not.
	journalUnknown = "unknown"
	// journalFailed: the post failed in a way that created nothing.
	journalFailed = "failed"
)

// journalRecord is one line of the journal.
type journalRecord struct {
	Version   int    `json:"v"`           // journalVersion
	Job       string `json:"job"`         // the job's fingerprint (jobFingerprint)
	Chunk     int    `json:"chunk"`       // the chunk's index
	First     int    `json:"first"`       // the chunk's first record
	End       int    `json:"end"`         // one past the chunk's last record
	TasksHash string `json:"tasksSHA256"` // SHA-256 of the chunk's tasks as JSON
	FirstID   string `json:"firstID,omitempty"`
	LastID    string `json:"lastID,omitempty"`
	State     string `json:"state"`
	// BatchID and TaskIDs are the accepted batch's.
	BatchID string   `json:"batchID,omitempty"`
	TaskIDs []string `json:"taskIDs,omitempty"`
	// Error says why the post failed or why its outcome is unknown.
	Error string    `json:"error,omitempty"`
	Time  time.Time `json:"time"` // when the line was written, in UTC
}

// check reports what makes r unusable as a journal line.
func (r *journalRecord) check() error {
	switch {
	case r.Version != 1 && r.Version != journalVersion:
		return fmt.Errorf("format version %d, this version of the SDK reads versions 1 and %d", r.Version, journalVersion)
	case !isSHA256Hex(r.Job):
		return errors.New(`"job" is not a SHA-256 fingerprint`)
	case !isSHA256Hex(r.TasksHash):
		return errors.New(`"tasksSHA256" is not a SHA-256 hash`)
	case r.Chunk < 0 || r.First < 0 || r.End <= r.First:
		return fmt.Errorf("invalid chunk %d or record range [%d, %d)", r.Chunk, r.First, r.End)
	}
	switch r.State {
	case journalAccepted:
		if r.BatchID == "" {
			return errors.New(`an "accepted" line without a batch ID`)
		}
	case journalPosting:
		if r.Version < 2 {
			return errors.New(`a "posting" line in a version 1 journal`)
		}
	case journalUnknown, journalFailed:
	default:
		return fmt.Errorf("unknown state %q", r.State)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// jobFingerprint identifies a bulk job for its journal: the tenant (so that
// a journal of a sandbox run does not make a production run skip chunks),
// how the template is given (its reference, or the embedded file's name and
// size) and the chunk size, which fixes every chunk's record range. It holds
// no secret.
func jobFingerprint(tenantID, reference string, embedded *Template, chunkSize int) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field("dynamo bulk job v1")
	field(tenantID)
	if embedded != nil {
		field("embedded")
		field(embedded.Name())
		field(strconv.FormatInt(embedded.Size(), 10))
	} else {
		field("reference")
		field(reference)
	}
	field(strconv.Itoa(chunkSize))
	return hex.EncodeToString(h.Sum(nil))
}

// journalEntry is what the journal says of a chunk: its last line.
type journalEntry struct {
	rec      journalRecord
	line     int       // 1-based line number in the file
	postedAt time.Time // when the post that the line is about started
}

// uncertain reports a chunk whose batch may exist: an unknown outcome, or a
// post whose outcome was never written.
func (e journalEntry) uncertain() bool {
	return e.rec.State == journalUnknown || e.rec.State == journalPosting
}

// journal is an open, locked journal file: what earlier runs recorded, and
// the file to append this run's lines to.
type journal struct {
	path   string
	job    string // the job's fingerprint
	f      *os.File
	size   int64                // bytes of complete lines in the file
	latest map[int]journalEntry // by chunk index
	// mu orders the writes of the goroutines posting chunks. failure is the
	// first write that failed; broken is set when the file could not be
	// restored after it, and nothing more is written.
	mu      sync.Mutex
	failure error
	broken  bool
}

// openJournal opens (creating it if need be) and locks the journal at path
// for the job with fingerprint job, and reads what it holds. A last line
// cut short by a crash during its write is removed from the file; any other
// line that cannot be read, or that belongs to another job, is an error.
func openJournal(path, job string) (*journal, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dynamo: opening the journal: %w", err)
	}
	j := &journal{path: path, job: job, f: f, latest: make(map[int]journalEntry)}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", path)
		}
		return nil, fmt.Errorf("dynamo: opening the journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("dynamo: journal %s: %w (it holds the journal's lock): nothing was posted; wait for that run to end", path, ErrJournalInUse)
		}
		return nil, fmt.Errorf("dynamo: journal %s: locking: %w", path, err)
	}
	if err := j.load(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if created {
		syncDir(filepath.Dir(path)) // so that the new file itself survives a crash
	}
	return j, nil
}

// load reads every line of the journal. Only the last line may be
// incomplete (no newline): one that does not parse is a write cut short and
// is cut off the file; one that parses lost only its newline, which is
// restored.
func (j *journal) load() error {
	r := bufio.NewReader(j.f)
	for line := 1; ; line++ {
		data, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("dynamo: reading the journal %s: %w", j.path, err)
		}
		if len(data) == 0 {
			return nil
		}
		if data[len(data)-1] != '\n' {
			return j.loadLast(line, data)
		}
		j.size += int64(len(data))
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		rec, perr := parseJournalLine(data)
		if perr != nil {
			return fmt.Errorf("dynamo: journal %s, line %d: %w", j.path, line, perr)
		}
		if err := j.add(rec, line); err != nil {
			return err
		}
	}
}

// loadLast handles a last line that has no newline.
func (j *journal) loadLast(line int, data []byte) error {
	rec, perr := parseJournalLine(data)
	if perr != nil && json.Valid(data) {
		// Whole, but not a line this SDK can use (another version, say):
		// refused like any other line, never cut as if a write broke off.
		return fmt.Errorf("dynamo: journal %s, line %d: %w", j.path, line, perr)
	}
	if perr != nil {
		if err := j.f.Truncate(j.size); err != nil {
			return fmt.Errorf("dynamo: journal %s: removing the incomplete line %d: %w", j.path, line, err)
		}
		return j.sync()
	}
	if err := j.add(rec, line); err != nil {
		return err
	}
	if _, err := j.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("dynamo: journal %s: ending line %d: %w", j.path, line, err)
	}
	j.size += int64(len(data)) + 1
	return j.sync()
}

func parseJournalLine(data []byte) (journalRecord, error) {
	var rec journalRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("not a journal line: %w", err)
	}
	if err := rec.check(); err != nil {
		return rec, fmt.Errorf("not a journal line: %w", err)
	}
	return rec, nil
}

// add records a line read from the file; later lines for a chunk override
// earlier ones.
func (j *journal) add(rec journalRecord, line int) error {
	if rec.Job != j.job {
		return &journalMismatchError{path: j.path, line: line,
			detail: "another tenant, template or chunk size"}
	}
	e := journalEntry{rec: rec, line: line, postedAt: rec.Time}
	if prev, ok := j.latest[rec.Chunk]; ok && prev.rec.State == journalPosting && rec.State != journalPosting {
		e.postedAt = prev.postedAt // the outcome of that post
	}
	j.latest[rec.Chunk] = e
	return nil
}

// check makes sure that every chunk the journal says was accepted, or may
// have been, is the same chunk, with the same records, in this job. A chunk
// whose last line says "failed" created nothing, so its records may have
// changed since (a corrected record is the usual reason to run again). The
// chunks it compares are encoded, to hash them.
func (j *journal) check(chunks []bulkChunk) error {
	indexes := make([]int, 0, len(j.latest))
	for i := range j.latest {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	for _, i := range indexes {
		e := j.latest[i]
		if e.rec.State == journalFailed {
			continue
		}
		var detail string
		switch {
		case i >= len(chunks):
			detail = fmt.Sprintf("it records chunk %d, but the job has %d chunks", i, len(chunks))
		case e.rec.First != chunks[i].first || e.rec.End != chunks[i].end:
			detail = fmt.Sprintf("it records chunk %d as records [%d, %d), the job's chunk %d is [%d, %d)",
				i, e.rec.First, e.rec.End, i, chunks[i].first, chunks[i].end)
		case chunks[i].encode(true) != nil || e.rec.TasksHash != chunks[i].hash:
			detail = fmt.Sprintf("records [%d, %d) differ from those it recorded as %s", e.rec.First, e.rec.End, e.rec.State)
		default:
			continue
		}
		return &journalMismatchError{path: j.path, line: e.line, detail: detail}
	}
	return nil
}

// appendIntent writes the posting line rec, unless a write has failed
// already: then no further chunk may start.
func (j *journal) appendIntent(rec journalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failure != nil {
		return j.failure
	}
	return j.write(rec)
}

// append writes rec as one line and waits until it is on disk. A write that
// fails is undone, so that the file holds only whole lines; if that fails
// too, nothing more is written.
func (j *journal) append(rec journalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(rec)
}

// write is append with j.mu held.
func (j *journal) write(rec journalRecord) error {
	if j.broken {
		return j.failure
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return j.fail(fmt.Errorf("dynamo: journal %s: encoding a line: %w", j.path, err))
	}
	data = append(data, '\n')
	if _, err := j.f.Write(data); err != nil {
		return j.fail(fmt.Errorf("dynamo: journal %s: writing: %w", j.path, err))
	}
	if err := j.sync(); err != nil {
		return j.fail(err)
	}
	j.size += int64(len(data))
	return nil
}

// fail records a failed write and restores the file to its whole lines.
func (j *journal) fail(err error) error {
	if j.failure == nil {
		j.failure = err
	}
	if terr := j.f.Truncate(j.size); terr != nil || j.sync() != nil {
		j.broken = true
	}
	return err
}

func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("dynamo: journal %s: syncing to disk: %w", j.path, err)
	}
	return nil
}

// close releases the lock and the file.
func (j *journal) close() error { return j.f.Close() }

// syncDir flushes a directory's entries, on systems that allow it.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// journalMismatchError is a journal line that does not fit the job.
type journalMismatchError struct {
	path   string
	line   int
	detail string
}

func (e *journalMismatchError) Error() string {
	return fmt.Sprintf("dynamo: journal %s, line %d belongs to a different job (%s): nothing was posted; run the job it was written for, or use a new journal file for a new job",
		e.path, e.line, e.detail)
}

// Is matches ErrJournalMismatch.
func (e *journalMismatchError) Is(target error) bool { return target == ErrJournalMismatch }

// journalUnknownError is a chunk that an earlier run posted without learning
// the outcome, which PostBulk does not post again on its own.
type journalUnknownError struct {
	path  string
	entry journalEntry
}

func (e *journalUnknownError) Error() string {
	rec := e.entry.rec
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: an earlier run posted chunk %d (records [%d, %d)", rec.Chunk, rec.First, rec.End)
	if rec.FirstID != "" {
		fmt.Fprintf(&b, ", IDs %s to %s", rec.FirstID, rec.LastID)
	}
	fmt.Fprintf(&b, ") at %s", e.entry.postedAt.Format(time.RFC3339))
	if rec.State == journalPosting {
		b.WriteString(" and ended before its outcome was known")
	} else {
		b.WriteString(" without learning whether it was accepted")
	}
	fmt.Fprintf(&b, " (journal %s, line %d): its batch may exist. The API cannot list batches: look for it in the Dynamo console, and only once you know it was not created post these records again with WithRepostUnknown",
		e.path, e.entry.line)
	return b.String()
}

// Unwrap matches ErrOutcomeUnknown.
func (e *journalUnknownError) Unwrap() error { return ErrOutcomeUnknown }

// JournalWriteError is PostBulk's error when its journal could not be
// written (a full disk, a file size limit, an I/O error): no chunk was
// started after that. The chunks in Unrecorded were posted by this run but
// their outcome is not in the journal, so a run with the same journal reads
// each of them as unknown; their State and BatchID here say what became of
// them.
type JournalWriteError struct {
	Path       string        // the journal file
	Err        error         // the first write that failed
	Unrecorded []ChunkResult // in index order
}

// Error names the journal, the failure and every unrecorded chunk.
func (e *JournalWriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: the journal %s could not be written, so no further chunk was started: %s",
		e.Path, strings.TrimPrefix(e.Err.Error(), "dynamo: "))
	if len(e.Unrecorded) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "; the outcome of %d chunks posted by this run is not in the journal, and a run with it will read them as unknown:", len(e.Unrecorded))
	for _, ch := range e.Unrecorded {
		fmt.Fprintf(&b, " chunk %d (records [%d, %d)) %s", ch.Index, ch.First, ch.End, ch.State)
		if ch.BatchID != "" {
			fmt.Fprintf(&b, " as batch %s", ch.BatchID)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns Err.
func (e *JournalWriteError) Unwrap() error { return e.Err }
