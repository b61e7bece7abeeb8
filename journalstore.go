package dynamo

import (
	"context"
	"errors"
	"iter"
)

// ErrJournalLost matches the error of Journal.Append when the run no longer
// holds the journal: its lock or lease ended (a connection cut, a lease that
// expired while the run was paused) and another run may have taken the job
// over. PostBulk then starts no further chunk and returns a
// *JournalWriteError that matches it.
var ErrJournalLost = errors.New("dynamo: the journal is no longer held by this run")

// JournalStore is where one bulk job's journal is kept: a file (FileJournal,
// WithJournal), or a store that several machines share (WithJournalStore).
// PostBulk opens it once per run, reads what earlier runs wrote, and appends
// a line before each chunk is sent and another once its outcome is known.
//
// A store only keeps lines: PostBulk writes them, reads them back and checks
// that they belong to the job, so a store never parses them. Each line is a
// JSON object of at most a few hundred kilobytes, without a newline; the
// lines hold no secret. The journal's format is described in the package
// documentation, under "The bulk journal".
//
// A store may be used by several runs, in several processes or on several
// machines; Open keeps them apart. Package journaltest checks that a store
// keeps this contract.
type JournalStore interface {
	// Open takes the job's journal exclusively, creating it if need be, and
	// holds it until the Journal is closed or the hold is lost (the process
	// dies, the connection to the store is cut, a lease expires). When
	// another run holds it, Open fails at once with an error matching
	// ErrJournalInUse, which should name the holder when the store can say.
	Open(ctx context.Context) (Journal, error)
}

// Journal is a job's journal held by one run. Its methods may be called from
// several goroutines at once.
type Journal interface {
	// Lines returns the lines appended so far, by this and earlier runs, in
	// the order they were appended. It is called once, before the first
	// Append. A store that can hold a line cut short by a crash (a file)
	// leaves it out, and removes it.
	Lines(ctx context.Context) iter.Seq2[[]byte, error]
	// Append adds one line (without its newline) after those already
	// there, and returns once it is durable: a crash of the process, of the
	// machine or of the store's server after Append returns does not lose
	// it (a file synced to disk, a committed transaction).
	//
	// A store refuses, writing nothing, a line that holds a newline or is
	// not one JSON value (PostBulk never writes one); see package
	// journaltest.
	//
	// A run that lost its hold must not write: Append then fails with an
	// error matching ErrJournalLost and the line is not stored. A store
	// shared by several machines checks a fencing token or lease on every
	// append, so that a run that was paused or cut off cannot write once
	// another run has taken the job over.
	//
	// When Append fails for any reason, the line may or may not have been
	// stored; PostBulk starts no further chunk, and lists in its
	// *JournalWriteError the chunks whose outcome is not recorded. A later
	// run reads a chunk whose outcome line is missing as of unknown outcome,
	// never as not posted, so either way no record is posted twice.
	Append(ctx context.Context, line []byte) error
	// Close releases the hold. PostBulk calls it once, when it returns.
	Close() error
}
