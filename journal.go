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
	"sort"
	"strconv"
	"time"
)

// ErrJournalMismatch matches the error of PostBulk when its journal (see
// WithJournal) was written for another job: another template, chunk size or
// set of records. Nothing is posted then; a new job needs a new journal file.
var ErrJournalMismatch = errors.New("dynamo: the journal belongs to a different job")

// journalVersion is the format of the lines PostBulk writes; a line of
// another version is refused rather than misread.
const journalVersion = 1

// The state of a chunk in the journal.
const (
	// journalAccepted: the API accepted the chunk's batch.
	journalAccepted = "accepted"
	// journalUnknown: the post may have created the batch, or not.
	journalUnknown = "unknown"
	// journalFailed: the post failed in a way that created nothing.
	journalFailed = "failed"
)

// journalRecord is one line of the journal: the outcome of one chunk.
type journalRecord struct {
	Version   int    `json:"v"`           // journalVersion
	Job       string `json:"job"`         // the job's fingerprint (jobFingerprint)
	Chunk     int    `json:"chunk"`       // the chunk's index
	First     int    `json:"first"`       // the chunk's first record
	End       int    `json:"end"`         // one past the chunk's last record
	TasksHash string `json:"tasksSHA256"` // tasksHash of the chunk's tasks
	State     string `json:"state"`       // journalAccepted, journalUnknown or journalFailed
	// BatchID and TaskIDs are the accepted batch's.
	BatchID string   `json:"batchID,omitempty"`
	TaskIDs []string `json:"taskIDs,omitempty"`
	// Error says why the post failed or why its outcome is unknown.
	Error string    `json:"error,omitempty"`
	Time  time.Time `json:"time"` // when the outcome was known, in UTC
}

// check reports what makes r unusable as a journal line.
func (r *journalRecord) check() error {
	switch {
	case r.Version != journalVersion:
		return fmt.Errorf("format version %d, this version of the SDK reads version %d", r.Version, journalVersion)
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

// tasksHash is the SHA-256 of the tasks' JSON, so that a record changed
// between two runs of a job is noticed. Params are maps, which encoding/json
// writes with sorted keys: equal tasks hash equally.
func tasksHash(tasks []Task) (string, error) {
	data, err := json.Marshal(tasks)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// journalEntry is the line in force for a chunk: the last one written.
type journalEntry struct {
	rec  journalRecord
	line int // 1-based line number in the file
}

// journal is an open journal file: what earlier runs recorded, and the file
// to append this run's outcomes to.
type journal struct {
	path   string
	f      *os.File
	latest map[int]journalEntry // by chunk index
}

// openJournal opens (creating it if need be) the journal at path for the job
// with fingerprint job and reads what it holds. A last line cut short by a
// crash during its write is removed from the file; any other line that cannot
// be read, or that belongs to another job, is an error.
func openJournal(path, job string) (*journal, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dynamo: opening the journal: %w", err)
	}
	j := &journal{path: path, f: f, latest: make(map[int]journalEntry)}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", path)
		}
		return nil, fmt.Errorf("dynamo: opening the journal: %w", err)
	}
	if err := j.load(job); err != nil {
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
func (j *journal) load(job string) error {
	r := bufio.NewReader(j.f)
	var complete int64 // bytes up to the end of the last complete line
	for line := 1; ; line++ {
		data, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("dynamo: reading the journal %s: %w", j.path, err)
		}
		if len(data) == 0 {
			return nil
		}
		if data[len(data)-1] != '\n' {
			return j.loadLast(job, line, data, complete)
		}
		complete += int64(len(data))
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		rec, perr := parseJournalLine(data)
		if perr != nil {
			return fmt.Errorf("dynamo: journal %s, line %d: %w", j.path, line, perr)
		}
		if err := j.add(job, rec, line); err != nil {
			return err
		}
	}
}

// loadLast handles a last line that has no newline.
func (j *journal) loadLast(job string, line int, data []byte, complete int64) error {
	rec, perr := parseJournalLine(data)
	if perr != nil {
		if err := j.f.Truncate(complete); err != nil {
			return fmt.Errorf("dynamo: journal %s: removing the incomplete line %d: %w", j.path, line, err)
		}
		return j.sync()
	}
	if err := j.add(job, rec, line); err != nil {
		return err
	}
	if _, err := j.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("dynamo: journal %s: ending line %d: %w", j.path, line, err)
	}
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
func (j *journal) add(job string, rec journalRecord, line int) error {
	if rec.Job != job {
		return &journalMismatchError{path: j.path, line: line,
			detail: "another tenant, template or chunk size"}
	}
	j.latest[rec.Chunk] = journalEntry{rec: rec, line: line}
	return nil
}

// check makes sure that every chunk the journal says was accepted, or may
// have been, is the same chunk, with the same records, in this job. A chunk
// whose last line says "failed" created nothing, so its records may have
// changed since (a corrected record is the usual reason to run again).
func (j *journal) check(chunks []bulkChunk) error {
	indexes := make([]int, 0, len(j.latest))
	for i := range j.latest {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
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
		case e.rec.TasksHash != chunks[i].hash:
			detail = fmt.Sprintf("records [%d, %d) differ from those it recorded as %s", e.rec.First, e.rec.End, e.rec.State)
		default:
			continue
		}
		return &journalMismatchError{path: j.path, line: e.line, detail: detail}
	}
	return nil
}

// append writes rec as one line and waits until it is on disk.
func (j *journal) append(rec journalRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("dynamo: journal %s: encoding a line: %w", j.path, err)
	}
	if _, err := j.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("dynamo: journal %s: writing: %w", j.path, err)
	}
	return j.sync()
}

func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("dynamo: journal %s: syncing to disk: %w", j.path, err)
	}
	return nil
}

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
	return fmt.Sprintf("dynamo: an earlier run posted chunk %d at %s without learning whether it was accepted (journal %s, line %d): the batch may exist; check the batch list before posting these records again, and to post them again anyway use WithRepostUnknown",
		rec.Chunk, rec.Time.Format(time.RFC3339), e.path, e.entry.line)
}

// Unwrap matches ErrOutcomeUnknown.
func (e *journalUnknownError) Unwrap() error { return ErrOutcomeUnknown }
