package dynamo

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// AcceptedChunk is a chunk of a bulk job that its journal records as
// accepted.
type AcceptedChunk struct {
	// Index is the chunk's position in the job, from 0; First and End
	// delimit its records, as in ChunkResult.
	Index, First, End int
	// BatchID is the accepted batch's ID, and TaskIDs its task IDs, one per
	// record in record order.
	BatchID string
	TaskIDs []string
}

// AcceptedChunks reads the journal in s and yields, in the order they were
// recorded, the chunks it records as accepted with their batch and task
// IDs: PostBulk keeps no record's task ID in memory for the whole job, so
// this is how a program finds every record's task once the job is done.
// It holds the journal while it reads, so it fails with an error matching
// ErrJournalInUse while a run holds it. It writes nothing (but for a file's
// incomplete last line, removed as a run would). A line that cannot be read
// ends the sequence with an error.
func AcceptedChunks(ctx context.Context, s JournalStore) iter.Seq2[AcceptedChunk, error] {
	return func(yield func(AcceptedChunk, error) bool) {
		if s == nil {
			yield(AcceptedChunk{}, errors.New("dynamo: AcceptedChunks: nil store"))
			return
		}
		name := journalName(s)
		j, err := s.Open(ctx)
		if err != nil {
			yield(AcceptedChunk{}, &journalOpenError{name: name, err: err, reading: true})
			return
		}
		defer j.Close()
		job := ""
		err = journalLines(ctx, j, name, func(line int, data []byte) (bool, error) {
			rec, err := parseJournalLine(data)
			if err != nil {
				return false, fmt.Errorf("dynamo: journal %s, line %d: %w", name, line, err)
			}
			if job == "" {
				job = rec.Job
			} else if rec.Job != job {
				return false, &JournalMismatchError{Path: name, Line: line, Chunk: rec.Chunk, Field: "job",
					Detail: "its lines are of two different jobs"}
			}
			if rec.State != journalAccepted {
				return true, nil
			}
			return yield(AcceptedChunk{Index: rec.Chunk, First: rec.First, End: rec.End, BatchID: rec.BatchID, TaskIDs: rec.TaskIDs}, nil), nil
		})
		if err != nil {
			yield(AcceptedChunk{}, err)
		}
	}
}
