package dynamo

import (
	"context"
	"iter"
)

// BulkSource is a bulk job's tasks, read from the start each time Tasks is
// called: a file, a query, anything that can be read again. PostBulkFrom
// reads it twice, once to validate and fingerprint the job and once to post
// it (once only when its journal says the job is complete), and holds no
// more than the chunks in flight. The second read must give the same tasks,
// value for value, in the same order.
type BulkSource interface {
	// Tasks returns the tasks in order, from the first. An error ends the
	// read: the job is not started, or no further chunk is posted.
	Tasks(ctx context.Context) iter.Seq2[Task, error]
}

// BulkSourceFunc adapts a function to a BulkSource.
type BulkSourceFunc func(ctx context.Context) iter.Seq2[Task, error]

// Tasks calls f.
func (f BulkSourceFunc) Tasks(ctx context.Context) iter.Seq2[Task, error] { return f(ctx) }
