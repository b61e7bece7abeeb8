package dynamo

import (
	"errors"
)

// defaultBulkConcurrency is how many chunks PostBulk posts at once unless
// WithBulkConcurrency says otherwise.
const defaultBulkConcurrency = 2

// ErrBulkStopped matches PostBulk's error when the channel given to WithStop
// stopped the job before every chunk was posted.
var ErrBulkStopped = errors.New("dynamo: bulk post stopped before every chunk was posted")

// BulkOption configures PostBulk. An option given an invalid value makes
// PostBulk fail before anything is posted, with an error that names the
// option; a nil BulkOption is skipped.
type BulkOption func(*bulkConfig) error

type bulkConfig struct {
	chunkSize     int
	concurrency   int
	template      *Template // embedded in every chunk; nil to post by reference
	journal       JournalStore
	repostUnknown bool
	chunkDone     func(ChunkResult)
	stop          <-chan struct{}
}

// WithChunkSize sets how many records go into each batch, from 1 to
// MaxTasksPerBatch (the default). It also fixes every chunk's record range,
// so a job resumed from its journal must use the same size.
func WithChunkSize(n int) BulkOption {
	return func(c *bulkConfig) error {
		if n < 1 || n > MaxTasksPerBatch {
			return configErrorf("WithChunkSize", "%d is not between 1 and %d", n, MaxTasksPerBatch)
		}
		c.chunkSize = n
		return nil
	}
}

// WithBulkConcurrency sets how many chunks are posted at once (default 2);
// n must be at least 1.
func WithBulkConcurrency(n int) BulkOption {
	return func(c *bulkConfig) error {
		if n < 1 {
			return configErrorf("WithBulkConcurrency", "%d is less than 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithBulkTemplate embeds t in every chunk's post, as PostBatchWithTemplate
// does, instead of referring to b.Template, which must then be empty. t is
// opened once per chunk and attempt, possibly by several chunks at once, so
// it must be re-openable: a template from TemplateFromReader is refused.
func WithBulkTemplate(t Template) BulkOption {
	return func(c *bulkConfig) error {
		c.template = &t
		return nil
	}
}

// WithJournal makes PostBulk write ahead to the file at path what it is
// about to do and what came of it, and resume from it, so that no record is
// posted twice across a crash, a kill, a signal, a full disk or a second run
// started at the same time. It is WithJournalStore(FileJournal(path)).
//
// "The bulk journal" in the package documentation says what the journal
// promises, how a run resumes from it, and its file format.
func WithJournal(path string) BulkOption {
	return func(c *bulkConfig) error {
		if path == "" {
			return configErrorf("WithJournal", "empty path")
		}
		c.journal = FileJournal(path)
		return nil
	}
}

// WithJournalStore makes PostBulk write ahead to the journal in s, as
// WithJournal does to a file: a store that several machines share lets any
// of them resume the job (see JournalStore).
func WithJournalStore(s JournalStore) BulkOption {
	return func(c *bulkConfig) error {
		if s == nil {
			return configErrorf("WithJournalStore", "nil store")
		}
		c.journal = s
		return nil
	}
}

// WithRepostUnknown posts again the chunks that the journal records with an
// unknown outcome. Use it only once you know that their batches were not
// created: otherwise their records are processed, and licensed, twice.
func WithRepostUnknown() BulkOption {
	return func(c *bulkConfig) error {
		c.repostUnknown = true
		return nil
	}
}

// WithChunkDone calls fn once for every chunk that is posted, fails, or is
// left alone because of the journal, as soon as its outcome is known (and
// recorded in the journal). A chunk this run accepted comes with its task
// IDs, which the report does not keep. Calls are never concurrent; they are made on the
// goroutine that called PostBulk, so fn may cancel PostBulk's context or
// close the WithStop channel: no chunk starts after that. While fn runs, no
// new chunk starts.
func WithChunkDone(fn func(ChunkResult)) BulkOption {
	return func(c *bulkConfig) error {
		if fn == nil {
			return configErrorf("WithChunkDone", "nil function")
		}
		c.chunkDone = fn
		return nil
	}
}

// WithStop gives PostBulk a graceful stop: once stop is closed, no further
// chunk starts, while the posts already in flight go on until their outcome
// is known (PostBulk's context still bounds them) and is recorded. PostBulk
// then returns the report, the chunks it did not start reported as
// ChunkNotStarted, and an error matching ErrBulkStopped (nil if every chunk
// was accepted anyway).
//
// Cancelling PostBulk's context instead aborts the posts in flight: each of
// them whose request was sent ends ChunkUnknown. A program that stops on a
// signal closes stop on the first one, and cancels the context on a second
// one or after a grace period.
func WithStop(stop <-chan struct{}) BulkOption {
	return func(c *bulkConfig) error {
		if stop == nil {
			return configErrorf("WithStop", "nil channel")
		}
		c.stop = stop
		return nil
	}
}
