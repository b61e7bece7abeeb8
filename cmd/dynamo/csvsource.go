package main

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/dynamokit/dynamo"
)

// csvSource is a CSV file as a bulk job's source of tasks: each read opens
// the file and streams its records, so that no more than one record is held
// at a time, whatever the file's size.
//
// The first read is the job's validation pass: besides the records'
// problems, it finds the records that repeat an earlier one (see
// duplicateCheck), counts the records and notes the first and last record
// ID of every chunk, for the report. Its last step, once every record is
// read, is the verdict on repeats: an error ends the read, so that nothing
// is posted.
type csvSource struct {
	path      string
	base      map[string]string // --param
	parts     []PartFlag        // --part
	chunkSize int
	dups      *duplicateCheck // nil with --allow-duplicates
	// counted is called once, at the end of a first read that found no
	// problem, with the number of records.
	counted func(records int)

	mu      sync.Mutex
	reads   int
	records int      // counted by the first read
	ids     []string // the first and last record ID of each chunk
	err     error    // the input problem that ended a read, if one did
}

// readAhead is how many records the file is read ahead of the job, in
// batches: the file is parsed on a goroutine of its own while the job
// encodes and posts the records before, so that both cores work.
const (
	readBatch = 256
	readAhead = 2 // batches
)

// readBatch is a batch of tasks read ahead, or the error that ended the
// read after them.
type taskBatch struct {
	tasks []dynamo.Task
	err   error
}

// Tasks reads the file from its first record.
func (s *csvSource) Tasks(ctx context.Context) iter.Seq2[dynamo.Task, error] {
	return func(yield func(dynamo.Task, error) bool) {
		s.mu.Lock()
		s.reads++
		first := s.reads == 1
		s.mu.Unlock()
		batches := make(chan taskBatch, readAhead)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(batches)
			send := func(b taskBatch) bool {
				select {
				case batches <- b:
					return true
				case <-stop:
					return false
				}
			}
			if err := s.read(ctx, first, send); err != nil {
				send(taskBatch{err: err})
			}
		}()
		// The file is closed, and the reader gone, before Tasks returns.
		defer func() {
			close(stop)
			<-done
		}()
		for b := range batches {
			for _, t := range b.tasks {
				if !yield(t, nil) {
					return
				}
			}
			if b.err != nil {
				s.mu.Lock()
				if s.err == nil && ctx.Err() == nil {
					s.err = b.err
				}
				s.mu.Unlock()
				yield(dynamo.Task{}, b.err)
				return
			}
		}
	}
}

// read sends every record of the file as a task, in batches; an error is
// returned, not sent. It stops without an error when send returns false.
func (s *csvSource) read(ctx context.Context, first bool, send func(taskBatch) bool) error {
	c, err := openCSV(s.path)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := checkColumns(c, s.base, s.parts); err != nil {
		return err
	}
	var hashes *rowHashes
	if first && s.dups != nil {
		if hashes, err = s.dups.start(s.path); err != nil {
			return err
		}
	}
	var ids []string
	var lastID string
	batch := make([]dynamo.Task, 0, readBatch)
	n := 0
	for ; ; n++ {
		params, err := c.next(s.base)
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(batch) > 0 && !send(taskBatch{tasks: batch}) {
				return nil
			}
			return err
		}
		if first {
			id := c.rec[c.idCol]
			if n%s.chunkSize == 0 {
				if n > 0 {
					ids = append(ids, strings.Clone(lastID))
				}
				ids = append(ids, strings.Clone(id))
			}
			lastID = id
			hashes.add(c.idCol, c.rec)
		}
		if batch = append(batch, taskOf(params, s.parts)); len(batch) == readBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !send(taskBatch{tasks: batch}) {
				return nil
			}
			batch = make([]dynamo.Task, 0, readBatch)
		}
	}
	if len(batch) > 0 && !send(taskBatch{tasks: batch}) {
		return nil
	}
	if !first {
		return nil
	}
	if n == 0 {
		return c.errorf(0, "no records after the header")
	}
	ids = append(ids, strings.Clone(lastID))
	if err := s.dups.finish(ctx, hashes); err != nil {
		return err
	}
	s.mu.Lock()
	s.records, s.ids = n, ids
	s.mu.Unlock()
	if s.counted != nil {
		s.counted(n)
	}
	return nil
}

// inputErr is the input problem that ended a read, nil if none did.
func (s *csvSource) inputErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// count is the number of records, once the first read has ended well; 0
// before.
func (s *csvSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// recordIDs are the first and last record IDs of chunk index, as the first
// read found them; empty before it ended well.
func (s *csvSource) recordIDs(index int) (first, last string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if 2*index+1 >= len(s.ids) {
		return "", ""
	}
	return s.ids[2*index], s.ids[2*index+1]
}

// String names the source in messages.
func (s *csvSource) String() string { return fmt.Sprintf("the CSV file %s", s.path) }
