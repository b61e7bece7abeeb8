package dynamo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChunkState is what became of a chunk of a bulk post.
type ChunkState int

// The states of a chunk.
const (
	// ChunkNotStarted: not posted, because the job stopped first.
	ChunkNotStarted ChunkState = iota
	// ChunkAccepted: posted by this run and accepted; BatchID is set.
	ChunkAccepted
	// ChunkSkipped: accepted by an earlier run, per the journal; not posted
	// again, BatchID comes from the journal.
	ChunkSkipped
	// ChunkFailed: the post failed in a way that created nothing; posting it
	// again is safe.
	ChunkFailed
	// ChunkUnknown: the batch may or may not exist: posted by this run
	// without an answer, or so recorded by the journal.
	ChunkUnknown
)

var chunkStateNames = [...]string{"not-started", "accepted", "skipped", "failed", "unknown"}

// String returns the state's name: "not-started", "accepted", "skipped",
// "failed" or "unknown".
func (s ChunkState) String() string {
	if s >= 0 && int(s) < len(chunkStateNames) {
		return chunkStateNames[s]
	}
	return "ChunkState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its name.
func (s ChunkState) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(chunkStateNames) {
		return nil, fmt.Errorf("dynamo: invalid ChunkState %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state's name.
func (s *ChunkState) UnmarshalText(text []byte) error {
	for i, name := range chunkStateNames {
		if string(text) == name {
			*s = ChunkState(i)
			return nil
		}
	}
	return fmt.Errorf("dynamo: unknown chunk state %q", text)
}

// ChunkResult is the outcome of one chunk of a bulk post.
type ChunkResult struct {
	// Index is the chunk's position in the job, from 0.
	Index int
	// First and End delimit the chunk's records, numbered from 0 across
	// the job: b.Tasks[First:End] for PostBulk.
	First, End int
	// State is what became of the chunk.
	State ChunkState
	// BatchID is the accepted batch's ID; empty unless State is
	// ChunkAccepted or ChunkSkipped.
	BatchID string
	// TaskIDs are the accepted batch's task IDs, one per record in record
	// order, given to the WithChunkDone callback of a chunk this run
	// accepted. The report keeps none, so that its size does not grow with
	// the records, and a chunk skipped because of the journal has none:
	// AcceptedChunks reads them back from the journal.
	TaskIDs []string
	// PostedAt is when the chunk's post started, by this run or (per the
	// journal) an earlier one; zero when it was not posted.
	PostedAt time.Time
	// FromJournal reports a chunk that this run left alone because of what
	// its journal records: accepted (ChunkSkipped) or of unknown outcome
	// (ChunkUnknown) by an earlier run.
	FromJournal bool
	// Err is nil when the chunk was accepted. It matches ErrOutcomeUnknown
	// for ChunkUnknown, is a *BatchTaskCountError (with BatchID set) when the
	// batch was accepted with an unexpected number of task IDs, and says why
	// the job stopped for ChunkNotStarted.
	Err error
}

// BulkReport is what PostBulk or PostBulkFrom did, chunk by chunk. It holds
// one ChunkResult per chunk (of at most MaxTasksPerBatch records) and no
// record's task ID.
type BulkReport struct {
	// Chunks holds every chunk of the job, in index order, including those
	// not started because the job stopped.
	Chunks []ChunkResult
}

// Count returns how many chunks are in state s.
func (r *BulkReport) Count(s ChunkState) int {
	n := 0
	for _, ch := range r.Chunks {
		if ch.State == s {
			n++
		}
	}
	return n
}

// Err returns nil when every chunk was accepted (by this run or, per the
// journal, an earlier one) with the expected task IDs. Otherwise it joins
// the chunks' errors, each prefixed by its record range, like "records
// [2000, 2500): …"; consecutive chunks that were not started are reported
// together.
func (r *BulkReport) Err() error {
	var errs []error
	for i := 0; i < len(r.Chunks); i++ {
		ch := r.Chunks[i]
		if ch.State != ChunkNotStarted {
			if ch.Err != nil {
				errs = append(errs, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
			}
			continue
		}
		j := i
		for j+1 < len(r.Chunks) && r.Chunks[j+1].State == ChunkNotStarted {
			j++
		}
		if j == i {
			errs = append(errs, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
		} else {
			errs = append(errs, fmt.Errorf("records [%d, %d) (%d chunks): %w", ch.First, r.Chunks[j].End, j-i+1, ch.Err))
		}
		i = j
	}
	return errors.Join(errs...)
}

// notStartedError is the Err of a chunk that was never posted because the
// job stopped first.
type notStartedError struct{ cause error }

func (e *notStartedError) Error() string {
	return "dynamo: not posted, the job stopped first: " + detail(e.cause)
}

func (e *notStartedError) Unwrap() error { return e.cause }

// BulkError is the error of PostBulk and PostBulkFrom when not every chunk
// was accepted (a *JournalWriteError wraps it when the journal could not be
// written). It lists the chunks that were not, and says why the
// job stopped early if it did. errors.Is finds ErrOutcomeUnknown in it when
// any chunk's outcome is unknown, and the cause of the stop (ErrBulkStopped,
// ctx's error, ErrSourceChanged).
type BulkError struct {
	// Stop is why the job stopped before every chunk was started, or nil
	// when it went through every chunk.
	Stop error

	counts string  // like "2 failed, 1 of unknown outcome"
	n, of  int     // chunks not accepted as posted, of the job's chunks
	chunks []error // of the chunks posted or settled by the journal, each with its records
}

func newBulkError(stop error, rep *BulkReport) *BulkError {
	e := &BulkError{Stop: stop, of: len(rep.Chunks)}
	var failed, unknown, notStarted, odd int
	for _, ch := range rep.Chunks {
		switch {
		case ch.State == ChunkNotStarted:
			notStarted++
		case ch.Err == nil:
			continue
		case ch.State == ChunkFailed:
			failed++
		case ch.State == ChunkUnknown:
			unknown++
		default:
			odd++
		}
		e.n++
		if ch.State != ChunkNotStarted {
			e.chunks = append(e.chunks, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
		}
	}
	var counts []string
	for _, c := range []struct {
		n    int
		what string
	}{{failed, "failed"}, {unknown, "of unknown outcome"}, {odd, "accepted with an unexpected answer"}, {notStarted, "not started"}} {
		if c.n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	e.counts = strings.Join(counts, ", ")
	return e
}

// Error says why the job stopped, if it did, how many chunks were not
// accepted and, for each chunk that was posted or settled by the journal,
// its records and what became of it (one line each).
func (e *BulkError) Error() string {
	var b strings.Builder
	b.WriteString("dynamo: ")
	if e.Stop != nil {
		if errors.Is(e.Stop, ErrBulkStopped) {
			b.WriteString(detail(e.Stop))
		} else {
			b.WriteString("bulk post stopped: " + detail(e.Stop))
		}
		b.WriteString("; ")
	}
	if e.n == 0 {
		return strings.TrimSuffix(b.String(), "; ")
	}
	fmt.Fprintf(&b, "%d of %d chunks not accepted (%s)", e.n, e.of, e.counts)
	for _, err := range e.chunks {
		b.WriteString("\n" + err.Error())
	}
	return b.String()
}

// Unwrap returns the cause of the stop and the chunks' errors, so that
// errors.Is finds ErrOutcomeUnknown when a chunk's outcome is unknown.
func (e *BulkError) Unwrap() []error {
	if e.Stop == nil {
		return e.chunks
	}
	return append([]error{e.Stop}, e.chunks...)
}
