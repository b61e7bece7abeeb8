package dynamo_test

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// The errors of a bulk job say "dynamo: " once, also when a store or a
// source wraps one of the package's errors in its own words.

func TestBulkErrorsSayTheirPrefixOnceWhenTheHoldIsLost(t *testing.T) {
	t.Parallel()
	_, client, _ := newFake(t)
	store := &memoryStore{loseAt: 4} // chunk 1's outcome
	rep, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(300)},
		dynamo.WithChunkSize(100), dynamo.WithJournalStore(store), dynamo.WithBulkConcurrency(1))
	require.ErrorIs(t, err, dynamo.ErrJournalLost)
	var jwe *dynamo.JournalWriteError
	require.ErrorAs(t, err, &jwe)
	require.Len(t, jwe.Unrecorded, 1)
	assert.EqualError(t, err, "dynamo: the journal memory could not be written, so no further chunk was started: run 1: the journal is no longer held by this run; "+
		"the outcome of 1 chunk posted by this run is not in the journal, and a run with it will read it as unknown: chunk 1 (records [100, 200)) accepted as batch "+jwe.Unrecorded[0].BatchID)
	var be *dynamo.BulkError
	require.ErrorAs(t, err, &be)
	assert.EqualError(t, be, "dynamo: bulk post stopped: run 1: the journal is no longer held by this run; 1 of 3 chunks not accepted (1 not started)")
	assert.EqualError(t, rep.Err(), "records [200, 300): dynamo: not posted, the job stopped first: run 1: the journal is no longer held by this run")
}

// wrappingStore is a store whose errors wrap the package's in their own
// words, as a store over another system would.
type wrappingStore struct {
	openErr, linesErr error
	inner             memoryStore
}

func (s *wrappingStore) String() string { return "redis" }

func (s *wrappingStore) Open(ctx context.Context) (dynamo.Journal, error) {
	if s.openErr != nil {
		return nil, s.openErr
	}
	j, err := s.inner.Open(ctx)
	if err != nil {
		return nil, err
	}
	return wrappingJournal{j, s.linesErr}, nil
}

type wrappingJournal struct {
	dynamo.Journal
	linesErr error
}

func (j wrappingJournal) Lines(context.Context) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) { yield(nil, j.linesErr) }
}

func TestJournalErrorsSayTheirPrefixOnceAndUnwrapTheStoresError(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	post := func(store dynamo.JournalStore) (*dynamo.BulkReport, error) {
		return client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(10)}, dynamo.WithJournalStore(store))
	}

	rep, err := post(&wrappingStore{openErr: fmt.Errorf("redis: key job-1: %w", dynamo.ErrJournalInUse)})
	assert.Nil(t, rep)
	require.ErrorIs(t, err, dynamo.ErrJournalInUse)
	assert.EqualError(t, err, "dynamo: journal redis: redis: key job-1: the journal is in use by another run: nothing was posted; wait for that run to end")

	lost := fmt.Errorf("redis: reading: %w", dynamo.ErrJournalLost)
	rep, err = post(&wrappingStore{linesErr: lost})
	assert.Nil(t, rep)
	require.ErrorIs(t, err, dynamo.ErrJournalLost, "the store's error is wrapped, not only quoted")
	assert.EqualError(t, err, "dynamo: reading the journal redis: redis: reading: the journal is no longer held by this run")

	for _, err := range dynamo.AcceptedChunks(context.Background(), &wrappingStore{linesErr: lost}) {
		require.ErrorIs(t, err, dynamo.ErrJournalLost, "the store's error is wrapped, not only quoted")
		assert.EqualError(t, err, "dynamo: reading the journal redis: redis: reading: the journal is no longer held by this run")
	}
	assert.Empty(t, srv.Batches())
}

// failingSource gives a few tasks, then its error.
type failingSource struct{ err error }

func (s failingSource) Tasks(context.Context) iter.Seq2[dynamo.Task, error] {
	return func(yield func(dynamo.Task, error) bool) {
		for i := range 3 {
			if !yield(dynamo.Task{Params: dynamo.Params{"id": recordID(i)}}, nil) {
				return
			}
		}
		yield(dynamo.Task{}, s.err)
	}
}

func TestBulkSourceErrorSaysThePrefixOnce(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	rep, err := client.PostBulkFrom(context.Background(), &dynamo.Batch{Template: "tmpl"},
		failingSource{fmt.Errorf("query: %w", dynamo.ErrUnauthorized)})
	assert.Nil(t, rep)
	require.ErrorIs(t, err, dynamo.ErrUnauthorized)
	assert.EqualError(t, err, "dynamo: reading the tasks: query: unauthorized: nothing was posted")
	assert.Equal(t, 1, strings.Count(err.Error(), "dynamo: "))
	assert.Empty(t, srv.Batches())
}
