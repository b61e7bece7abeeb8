package dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// journalEntry is what the journal says of a chunk: its last line, without
// its task IDs unless their number is wrong.
type journalEntry struct {
	rec      journalRecord
	line     int       // the line's number, from 1
	postedAt time.Time // when the post that the line is about started
}

// uncertain reports a chunk whose batch may exist: an unknown outcome, or a
// post whose outcome was never written.
func (e journalEntry) uncertain() bool {
	return e.rec.State == journalUnknown || e.rec.State == journalPosting
}

// journal is a job's journal held by this run: what earlier runs recorded
// of each chunk, and the Journal to append this run's lines to. Parsing and
// checking the lines is the SDK's, so that a store only keeps them.
type journal struct {
	j      Journal
	name   string               // how errors name the journal
	job    string               // the job's fingerprint
	latest map[int]journalEntry // by chunk index
	// mu orders the appends; failure is the first append that failed, after
	// which no further chunk may start.
	mu      sync.Mutex
	failure error
}

// journalName is how errors name a store: its String method's result, or
// its type.
func journalName(s JournalStore) string {
	if sn, ok := s.(fmt.Stringer); ok {
		return sn.String()
	}
	return fmt.Sprintf("%T", s)
}

// openJournal opens the store for the job with fingerprint job and reads
// what it holds, as a stream: of each chunk only its last line is kept,
// without its task IDs. A line that cannot be read, or that belongs to
// another job, is an error.
func openJournal(ctx context.Context, s JournalStore, job string) (*journal, error) {
	name := journalName(s)
	j, err := s.Open(ctx)
	if err != nil {
		return nil, &journalOpenError{name: name, err: err}
	}
	jr := &journal{j: j, name: name, job: job, latest: make(map[int]journalEntry)}
	if err := jr.load(ctx); err != nil {
		_ = j.Close()
		return nil, err
	}
	return jr, nil
}

// journalLines reads the lines of j, the journal named name, for a run and
// for AcceptedChunks alike: it calls fn with each line that is not blank
// and its number, from 1, until fn returns false or an error. A line that
// cannot be read is an error naming the journal.
func journalLines(ctx context.Context, j Journal, name string, fn func(line int, data []byte) (bool, error)) error {
	line := 0
	for data, err := range j.Lines(ctx) {
		if err != nil {
			return &wrapError{msg: fmt.Sprintf("dynamo: reading the journal %s: %s", name, detail(err)), err: err}
		}
		line++
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if more, err := fn(line, data); !more || err != nil {
			return err
		}
	}
	return nil
}

// load reads every line of the journal.
func (j *journal) load(ctx context.Context) error {
	return journalLines(ctx, j.j, j.name, func(line int, data []byte) (bool, error) {
		// Of each line, only its task IDs' number is kept, but when it is
		// wrong: the IDs then go in the chunk's *BatchTaskCountError.
		rec, taskIDs, perr := parseJournalHead(data)
		if perr == nil && rec.State == journalAccepted && taskIDs != rec.End-rec.First {
			if rec, perr = parseJournalLine(data); rec.TaskIDs == nil {
				rec.TaskIDs = []string{}
			}
		}
		if perr != nil {
			return false, fmt.Errorf("dynamo: journal %s, line %d: %w", j.name, line, perr)
		}
		if rec.Job != j.job {
			return false, &JournalMismatchError{Path: j.name, Line: line, Chunk: rec.Chunk, Field: "job",
				Detail: "another tenant, template or chunk size"}
		}
		j.add(rec, line)
		return true, nil
	})
}

// journalHead is a journal line as a run resumes from it: its task IDs
// counted, not kept.
type journalHead struct {
	journalRecord
	TaskIDs taskIDCount `json:"taskIDs,omitempty"` // shadows journalRecord's
}

// parseJournalHead is parseJournalLine without the task IDs: it returns
// how many the line gives.
func parseJournalHead(data []byte) (journalRecord, int, error) {
	var h journalHead
	if err := json.Unmarshal(data, &h); err != nil {
		return h.journalRecord, 0, fmt.Errorf("not a journal line: %w", err)
	}
	if err := h.journalRecord.check(); err != nil {
		return h.journalRecord, 0, fmt.Errorf("not a journal line: %w", err)
	}
	return h.journalRecord, int(h.TaskIDs), nil
}

// taskIDCount is the number of strings in a JSON array of strings.
type taskIDCount int

// UnmarshalJSON counts the strings of data, a JSON value that the decoder
// has found well formed; any other element is refused.
func (n *taskIDCount) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*n = 0
		return nil
	}
	if len(data) < 2 || data[0] != '[' {
		return errors.New(`"taskIDs" is not an array`)
	}
	count, inString, escaped := 0, false, false
	for _, c := range data[1 : len(data)-1] {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
			count++
		case c != ',' && c != ' ' && c != '\t' && c != '\n' && c != '\r':
			return errors.New(`"taskIDs" holds a value that is not a string`)
		}
	}
	*n = taskIDCount(count)
	return nil
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

// add records a line read from the journal; later lines for a chunk
// override earlier ones. The task IDs are not kept: AcceptedChunks reads
// them back.
func (j *journal) add(rec journalRecord, line int) {
	e := journalEntry{rec: rec, line: line, postedAt: rec.Time}
	if prev, ok := j.latest[rec.Chunk]; ok && prev.rec.State == journalPosting && rec.State != journalPosting {
		e.postedAt = prev.postedAt // the outcome of that post
	}
	j.latest[rec.Chunk] = e
}

// vouches reports whether the journal records chunk i as accepted or
// possibly posted, so that its records must be the same in this job; false
// for a nil journal.
func (j *journal) vouches(i int) bool {
	if j == nil {
		return false
	}
	e, ok := j.latest[i]
	return ok && e.rec.State != journalFailed
}

// verify makes sure that chunk i, records [first, end), is the chunk the
// journal says was accepted, or may have been, with the same records; hash
// gives the chunk's tasks' hash, and is called only when needed. A chunk
// whose last line says "failed" created nothing, so its records may have
// changed since (a corrected record is the usual reason to run again).
func (j *journal) verify(i, first, end int, hash func() (string, error)) error {
	if !j.vouches(i) {
		return nil
	}
	e := j.latest[i]
	mismatch := func(field, detail string) error {
		return &JournalMismatchError{Path: j.name, Line: e.line, Chunk: i, Field: field, Detail: detail}
	}
	if e.rec.First != first || e.rec.End != end {
		return mismatch("end", fmt.Sprintf("it records chunk %d as records [%d, %d), the job's chunk %d is [%d, %d)",
			i, e.rec.First, e.rec.End, i, first, end))
	}
	if h, err := hash(); err != nil || h != e.rec.TasksHash {
		return mismatch("tasksSHA256", fmt.Sprintf("records [%d, %d) differ from those it recorded as %s", first, end, e.rec.State))
	}
	return nil
}

// verifyCount makes sure that the journal records no accepted or uncertain
// chunk beyond the job's n chunks.
func (j *journal) verifyCount(n int) error {
	var beyond []int
	for i, e := range j.latest {
		if i >= n && e.rec.State != journalFailed {
			beyond = append(beyond, i)
		}
	}
	if len(beyond) == 0 {
		return nil
	}
	i := slices.Min(beyond)
	return &JournalMismatchError{Path: j.name, Line: j.latest[i].line, Chunk: i, Field: "chunk",
		Detail: fmt.Sprintf("it records chunk %d, but the job has %d chunks", i, n)}
}

// appendIntent writes the posting line rec, unless an append has failed
// already: then no further chunk may start.
func (j *journal) appendIntent(ctx context.Context, rec journalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failure != nil {
		return j.failure
	}
	return j.write(ctx, rec)
}

// append writes rec, an outcome line, even after an append failed: the
// store may hold it.
func (j *journal) append(ctx context.Context, rec journalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(ctx, rec)
}

// write is append with j.mu held. The outcome of a post is recorded even
// when ctx, which ended the post, is done.
func (j *journal) write(ctx context.Context, rec journalRecord) error {
	data, err := json.Marshal(rec)
	if err == nil {
		err = j.j.Append(context.WithoutCancel(ctx), data)
	}
	if err != nil && j.failure == nil {
		j.failure = err
	}
	return err
}

// close releases the journal.
func (j *journal) close() error { return j.j.Close() }

// journalOpenError is a journal that could not be opened: nothing was
// posted.
type journalOpenError struct {
	name    string
	err     error
	reading bool // by AcceptedChunks, not by a run
}

func (e *journalOpenError) Error() string {
	msg := fmt.Sprintf("dynamo: journal %s: %s", e.name, detail(e.err))
	if !e.reading {
		msg += ": nothing was posted"
	}
	if errors.Is(e.err, ErrJournalInUse) {
		msg += "; wait for that run to end"
	}
	return msg
}

func (e *journalOpenError) Unwrap() error { return e.err }

// JournalMismatchError is the error of PostBulk (and of AcceptedChunks) when its journal was written
// for another job: another tenant, template or chunk size, or other records
// in a chunk that it records as accepted or possibly posted. It matches
// ErrJournalMismatch. Nothing is posted then.
type JournalMismatchError struct {
	Path  string // the journal: a file's path, or its store's name
	Line  int    // the line that does not fit, from 1
	Chunk int    // the chunk the line is about
	// Field is the line's field that does not fit the job: "job" (the
	// tenant, template or chunk size), "chunk" (beyond the job's chunks),
	// "end" (another record range) or "tasksSHA256" (other records).
	Field  string
	Detail string // what differs, in words
}

// Error names the journal, the line and what differs.
func (e *JournalMismatchError) Error() string {
	return fmt.Sprintf("dynamo: journal %s, line %d belongs to a different job (%s): nothing was posted; run the job it was written for, or use a new journal for a new job",
		e.Path, e.Line, e.Detail)
}

// Is matches ErrJournalMismatch.
func (e *JournalMismatchError) Is(target error) bool { return target == ErrJournalMismatch }

// journalUnknownError is a chunk that an earlier run posted without learning
// the outcome, which PostBulk does not post again on its own.
type journalUnknownError struct {
	name  string
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
		e.name, e.entry.line)
	return b.String()
}

// Unwrap matches ErrOutcomeUnknown.
func (e *journalUnknownError) Unwrap() error { return ErrOutcomeUnknown }

// JournalWriteError is PostBulk's error when its journal could not be
// written (a full disk, a file size limit, an I/O error, a store that
// refuses, a hold lost as ErrJournalLost says): no chunk was started after
// that. The chunks in Unrecorded were posted by this run but
// their outcome is not in the journal, so a run with the same journal reads
// each of them as unknown; their State and BatchID here say what became of
// them.
type JournalWriteError struct {
	Path       string        // the journal: a file's path, or its store's name
	Err        error         // the first append that failed
	Unrecorded []ChunkResult // in index order

	chunks *BulkError // the chunks not accepted, if any
}

// Error names the journal, the failure and every unrecorded chunk.
func (e *JournalWriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamo: the journal %s could not be written, so no further chunk was started: %s",
		e.Path, detail(e.Err))
	if len(e.Unrecorded) == 0 {
		return b.String()
	}
	if len(e.Unrecorded) == 1 {
		b.WriteString("; the outcome of 1 chunk posted by this run is not in the journal, and a run with it will read it as unknown:")
	} else {
		fmt.Fprintf(&b, "; the outcome of %d chunks posted by this run is not in the journal, and a run with it will read them as unknown:", len(e.Unrecorded))
	}
	for _, ch := range e.Unrecorded {
		fmt.Fprintf(&b, " chunk %d (records [%d, %d)) %s", ch.Index, ch.First, ch.End, ch.State)
		if ch.BatchID != "" {
			fmt.Fprintf(&b, " as batch %s", ch.BatchID)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns Err and, when not every chunk was accepted, the
// *BulkError that lists them, so that errors.Is finds ErrOutcomeUnknown
// when any chunk's outcome is unknown.
func (e *JournalWriteError) Unwrap() []error {
	if e.chunks == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.chunks}
}
