package dynamo

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// ErrSourceChanged matches PostBulkFrom's error when its source gave other
// tasks on its second read, when posting, than on its first, when the job
// was validated: the chunk that differs and those after it are not posted.
var ErrSourceChanged = errors.New("dynamo: the bulk source changed between its two reads")

// PostBulk posts any number of tasks as consecutive batches ("chunks") of
// at most MaxTasksPerBatch tasks (or the WithChunkSize value) each. Every
// chunk has b's Template, Integration and Parts, and follows the validation,
// retry and outcome rules of PostBatch (or of PostBatchWithTemplate with
// WithBulkTemplate). Up to 2 chunks (or the WithBulkConcurrency value) are
// in flight at once, started in index order.
//
// Every chunk is validated, its values found encodable, before any is
// posted (each is then encoded as it is posted): an invalid job fails with
// a *ValidationError whose fields number records across the whole job,
// like "tasks[2503].params.id", and nothing is sent.
//
// A chunk that fails does not stop the others: the report says what became
// of each chunk (see ChunkResult.State). Whenever not every chunk was
// accepted, PostBulk returns the report and an error that lists them, which
// matches ErrOutcomeUnknown when any chunk's outcome is unknown (report.Err
// says the same of the chunks alone). A job that stops early says why: a
// journal that cannot be read, is in use, cannot be written or belongs to
// another job (see WithJournal), the WithStop channel (ErrBulkStopped), or
// ctx being done (its error). When ctx ends the job, no other chunk starts
// and posts in flight end with ctx (one whose request was already sent has
// an unknown outcome). To stop without cutting off the posts in flight, use
// WithStop. Invalid options or input return a nil report.
//
// With a journal (WithJournal, WithJournalStore), a job stopped by a crash,
// a kill or a signal can be run again with the same journal without posting
// any record twice.
//
// PostBulk holds b.Tasks; PostBulkFrom reads the tasks from a source
// instead, in memory that does not grow with the job.
func (c *Client) PostBulk(ctx context.Context, b *Batch, opts ...BulkOption) (*BulkReport, error) {
	if b == nil {
		return nil, (problems{{Field: "batch", Message: "is nil"}}).err()
	}
	return c.postBulk(ctx, "PostBulk", b, sliceTasks(b.Tasks), opts)
}

// PostBulkFrom is PostBulk with the tasks read from src, so that the memory
// it uses does not grow with the job: b gives the Template, Integration and
// Parts of every chunk, and b.Tasks must be empty.
//
// It reads src twice. The first read validates every task, as PostBulk
// does (an invalid job fails naming every problem, with the tasks numbered
// across the job, and nothing is posted), and keeps a fingerprint of each
// chunk's tasks (8 bytes a chunk). The second read posts them, holding no
// more than the chunks in flight and the next; a chunk whose tasks differ
// from the first read's is not posted, nor any after it, and the error
// matches ErrSourceChanged. An error from src stops the job in the same
// way. A job that its journal says is complete is read once only.
func (c *Client) PostBulkFrom(ctx context.Context, b *Batch, src BulkSource, opts ...BulkOption) (*BulkReport, error) {
	var p problems
	if b == nil {
		p.add("batch", "is nil")
	} else if len(b.Tasks) > 0 {
		p.add("tasks", "must be empty: PostBulkFrom reads the tasks from its source")
	}
	if src == nil {
		p.add("source", "is nil")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c.postBulk(ctx, "PostBulkFrom", b, sourceTasks{src}, opts)
}

// postBulk is both forms of a bulk post: one plan, one journal, one run.
func (c *Client) postBulk(ctx context.Context, call string, b *Batch, tasks bulkTasks, opts []BulkOption) (*BulkReport, error) {
	cfg := bulkConfig{chunkSize: MaxTasksPerBatch, concurrency: defaultBulkConcurrency}
	if err := applyOptions(call, &cfg, opts); err != nil {
		return nil, err
	}
	if err := c.orgProblems(b.Integration).err(); err != nil {
		return nil, err
	}
	// The journal is read first, so that the validation read hashes the
	// chunks it records.
	var j *journal
	if cfg.journal != nil {
		fp := jobFingerprint(c.tenantID, b.Template, cfg.template, cfg.chunkSize)
		var err error
		if j, err = openJournal(ctx, cfg.journal, fp); err != nil {
			return nil, err
		}
		defer j.close()
	}
	plan, err := planJob(ctx, b, tasks, &cfg, j)
	if err != nil {
		return nil, err
	}
	if j != nil {
		if err := plan.verify(j, tasks); err != nil {
			return nil, err
		}
	}
	run := &bulkRun{client: c, cfg: &cfg, plan: plan, tasks: tasks, journal: j}
	return run.run(ctx)
}

// bulkTasks is a bulk job's tasks, read chunk by chunk from the first, each
// time chunks is called.
type bulkTasks interface {
	chunks(ctx context.Context, size int) iter.Seq2[[]Task, error]
	// rereads reports whether a second read may give other tasks than the
	// first, so that each chunk must be compared with it.
	rereads() bool
}

// sliceTasks is PostBulk's tasks: its chunks are windows on the slice.
type sliceTasks []Task

func (s sliceTasks) chunks(_ context.Context, size int) iter.Seq2[[]Task, error] {
	return func(yield func([]Task, error) bool) {
		for first := 0; first < len(s); first += size {
			end := min(first+size, len(s))
			if !yield(s[first:end:end], nil) {
				return
			}
		}
	}
}

func (sliceTasks) rereads() bool { return false }

// sourceTasks is PostBulkFrom's tasks: each chunk is a new slice, so that
// the chunks in flight keep theirs while the next is read.
type sourceTasks struct{ src BulkSource }

func (s sourceTasks) chunks(ctx context.Context, size int) iter.Seq2[[]Task, error] {
	return func(yield func([]Task, error) bool) {
		chunk := make([]Task, 0, size)
		for t, err := range s.src.Tasks(ctx) {
			if err != nil {
				yield(nil, fmt.Errorf("reading the tasks: %w", err))
				return
			}
			if chunk = append(chunk, t); len(chunk) == size {
				if !yield(chunk, nil) {
					return
				}
				chunk = make([]Task, 0, size)
			}
		}
		if len(chunk) > 0 {
			yield(chunk, nil)
		}
	}
}

func (sourceTasks) rereads() bool { return true }
