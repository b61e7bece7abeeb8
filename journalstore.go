package dynamo

import (
	"context"
	"iter"
)

// JournalStore is where one bulk job's journal is kept: a file (WithJournal),
// or a store that several machines share (WithJournalStore). PostBulk opens
// it once per run, reads what earlier runs wrote, and appends a line before
// each chunk is sent and another once its outcome is known.
type JournalStore interface {
	// Open takes the job's journal exclusively, creating it if need be, and
	// holds it until the Journal is closed or the hold is lost (the process
	// dies, the connection to the store is cut). When another run holds it,
	// Open fails at once with an error matching ErrJournalInUse.
	Open(ctx context.Context) (Journal, error)
}

// Journal is a job's journal held by one run.
type Journal interface {
	// Lines returns the lines appended so far, in the order they were
	// appended. It is called once, before the first Append.
	Lines(ctx context.Context) iter.Seq2[[]byte, error]
	// Append adds one line (without its newline) and returns once it is
	// durable. A run that lost its hold gets an error matching
	// ErrJournalLost, and the line is not written.
	Append(ctx context.Context, line []byte) error
	// Close releases the hold.
	Close() error
}
