package dynamo_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// recordSource is a BulkSource of the records 0..n-1 (as records(n) holds
// them), made as they are read, never held. edit, when set, may change or
// end each read: it gets the read's number (from 1), the record's index and
// the task, and returns false to end the read there.
type recordSource struct {
	n     int
	edit  func(read, i int, t *dynamo.Task) bool
	reads atomic.Int32
}

func (s *recordSource) Tasks(context.Context) iter.Seq2[dynamo.Task, error] {
	read := int(s.reads.Add(1))
	return func(yield func(dynamo.Task, error) bool) {
		for i := range s.n {
			t := dynamo.Task{Params: dynamo.Params{"id": recordID(i), "row": i}}
			if s.edit != nil && !s.edit(read, i, &t) {
				return
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}

// bulkForms runs test once with PostBulk over a slice and once with
// PostBulkFrom over a recordSource of the same records.
func bulkForms(t *testing.T, test func(t *testing.T, post func(client *dynamo.Client, ctx context.Context, n int, opts ...dynamo.BulkOption) (*dynamo.BulkReport, error))) {
	t.Run("PostBulk", func(t *testing.T) {
		t.Parallel()
		test(t, func(client *dynamo.Client, ctx context.Context, n int, opts ...dynamo.BulkOption) (*dynamo.BulkReport, error) {
			return client.PostBulk(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(n)}, opts...)
		})
	})
	t.Run("PostBulkFrom", func(t *testing.T) {
		t.Parallel()
		test(t, func(client *dynamo.Client, ctx context.Context, n int, opts ...dynamo.BulkOption) (*dynamo.BulkReport, error) {
			return client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl"}, &recordSource{n: n}, opts...)
		})
	})
}

func TestPostBulkFromReadsTheSourceTwiceAndPostsEveryRecordOnce(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	src := &recordSource{n: 2500}
	var done []dynamo.ChunkResult
	rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, src,
		dynamo.WithChunkDone(func(r dynamo.ChunkResult) { done = append(done, r) }))
	require.NoError(t, err)
	assert.EqualValues(t, 2, src.reads.Load(), "one read to validate, one to post")
	require.Len(t, rep.Chunks, 3)
	assert.Equal(t, 3, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, [2]int{2000, 2500}, [2]int{rep.Chunks[2].First, rep.Chunks[2].End})
	requireAcceptedOnce(t, srv, 2500)
	require.Len(t, done, 3)
	for _, r := range done {
		fb, ok := srv.Batch(r.BatchID)
		require.True(t, ok)
		require.Len(t, r.TaskIDs, r.End-r.First)
		for k, task := range fb.Tasks {
			assert.Equal(t, recordID(r.First+k), task.Params["id"])
			assert.Equal(t, task.ID, r.TaskIDs[k])
		}
	}
}

func TestPostBulkFromValidatesEveryChunkBeforePosting(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	// The last chunk's last record has no ID, and a chunk in the middle has
	// a value JSON cannot hold.
	src := &recordSource{n: 2500, edit: func(_, i int, t *dynamo.Task) bool {
		switch i {
		case 1499:
			t.Params["bad"] = func() {}
		case 2499:
			delete(t.Params, "id")
		}
		return true
	}}
	rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, src)
	assert.Nil(t, rep)
	var verr *dynamo.ValidationError
	require.ErrorAs(t, err, &verr)
	var fields []string
	for _, p := range verr.Problems {
		fields = append(fields, p.Field)
	}
	assert.Equal(t, []string{"tasks[1499].params.bad", "tasks[2499].params.id"}, fields, "numbered across the job")
	assert.EqualValues(t, 1, src.reads.Load(), "not read again")
	assert.Empty(t, srv.Requests(), "nothing is posted")
}

func TestPostBulkFromRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	ctx := context.Background()
	_, err := client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(1)}, &recordSource{n: 1})
	assert.ErrorContains(t, err, "tasks: must be empty")
	_, err = client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl"}, nil)
	assert.ErrorContains(t, err, "source: is nil")
	_, err = client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl"}, &recordSource{n: 0})
	assert.ErrorContains(t, err, "at least one task is required")

	broken := errors.New("the query failed")
	src := dynamo.BulkSourceFunc(func(context.Context) iter.Seq2[dynamo.Task, error] {
		return func(yield func(dynamo.Task, error) bool) {
			if yield(records(1)[0], nil) {
				yield(dynamo.Task{}, broken)
			}
		}
	})
	rep, err := client.PostBulkFrom(ctx, &dynamo.Batch{Template: "tmpl"}, src)
	assert.Nil(t, rep)
	require.ErrorIs(t, err, broken)
	assert.Contains(t, err.Error(), "nothing was posted")
	assert.Empty(t, srv.Requests())
}

func TestPostBulkFromStopsBeforeTheChunkThatChanged(t *testing.T) {
	t.Parallel()
	broken := errors.New("the connection to the database was lost")
	for _, tc := range []struct {
		name string
		edit func(i int, t *dynamo.Task) bool // on the second read
		want error
	}{
		{"a record changed", func(i int, t *dynamo.Task) bool {
			if i == 250 {
				t.Params["row"] = "edited between the reads"
			}
			return true
		}, dynamo.ErrSourceChanged},
		{"fewer records", func(i int, _ *dynamo.Task) bool { return i < 250 }, dynamo.ErrSourceChanged},
		{"fewer chunks", func(i int, _ *dynamo.Task) bool { return i < 200 }, dynamo.ErrSourceChanged},
		{"more records", nil, dynamo.ErrSourceChanged},
		{"a read error", nil, broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client, _ := newFake(t)
			n := 300
			src := &recordSource{n: n}
			switch tc.name {
			case "more records":
				src.n = 400
				src.edit = func(read, i int, _ *dynamo.Task) bool { return read > 1 || i < 300 }
			case "a read error":
				src = nil
			default:
				src.edit = func(read, i int, t *dynamo.Task) bool { return read == 1 || tc.edit(i, t) }
			}
			var bs dynamo.BulkSource = src
			if src == nil {
				reads := 0
				bs = dynamo.BulkSourceFunc(func(ctx context.Context) iter.Seq2[dynamo.Task, error] {
					reads++
					return func(yield func(dynamo.Task, error) bool) {
						for i, task := range records(n) {
							if reads > 1 && i == 250 {
								yield(dynamo.Task{}, broken)
								return
							}
							if !yield(task, nil) {
								return
							}
						}
					}
				})
			}
			rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, bs,
				dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(2))
			require.ErrorIs(t, err, tc.want)
			var be *dynamo.BulkError
			require.ErrorAs(t, err, &be)
			assert.ErrorIs(t, be.Stop, tc.want)
			require.NotNil(t, rep)
			var states []string
			for _, ch := range rep.Chunks {
				states = append(states, ch.State.String())
			}
			if tc.name == "more records" { // the chunks that were validated were posted, no other
				assert.Equal(t, []string{"accepted", "accepted", "accepted"}, states)
				requireAcceptedOnce(t, srv, 300)
				return
			}
			assert.Equal(t, []string{"accepted", "accepted", "not-started"}, states)
			assert.Len(t, srv.Batches(), 2, "the chunk that differs is not posted")
			requireAcceptedOnce(t, srv, 200)
		})
	}
}

func TestPostBulkFromRefusesAJournalOfOtherRecords(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t)
	path := filepath.Join(t.TempDir(), "job.journal")
	opts := []dynamo.BulkOption{dynamo.WithJournal(path), dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1)}
	_, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, &recordSource{n: 300}, opts...)
	require.NoError(t, err)
	posts := requestsTo(srv, http.MethodPost)

	edited := &recordSource{n: 300, edit: func(_, i int, t *dynamo.Task) bool {
		if i == 150 {
			t.Params["row"] = "edited after the first run"
		}
		return true
	}}
	rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, edited, opts...)
	assert.Nil(t, rep)
	var mismatch *dynamo.JournalMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.ErrorIs(t, err, dynamo.ErrJournalMismatch)
	assert.Equal(t, dynamo.JournalMismatchError{Path: path, Line: 4, Chunk: 1, Field: "tasksSHA256",
		Detail: "records [100, 200) differ from those it recorded as accepted"}, *mismatch)
	assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")

	rep, err = client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"}, &recordSource{n: 300}, opts...)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Count(dynamo.ChunkSkipped))
	requireAcceptedOnce(t, srv, 300)
}
