package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// memoryStore is a JournalStore in memory, as a store shared by several
// machines would be written: a hold that one run takes at a time, and an
// epoch checked on every append, so that a run whose hold was lost cannot
// write.
type memoryStore struct {
	mu      sync.Mutex
	lines   [][]byte
	epoch   int // of the run that holds the journal; 0 when none does
	runs    int
	appends int
	// loseAt makes the hold be lost at that append, counted from 1 over
	// the store's life; 0 never.
	loseAt int
}

func (s *memoryStore) String() string { return "memory" }

func (s *memoryStore) Open(context.Context) (dynamo.Journal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != 0 {
		return nil, fmt.Errorf("%w (held by run %d)", dynamo.ErrJournalInUse, s.epoch)
	}
	s.runs++
	s.epoch = s.runs
	return &memoryJournal{s: s, epoch: s.epoch}, nil
}

type memoryJournal struct {
	s     *memoryStore
	epoch int
}

func (j *memoryJournal) Lines(context.Context) iter.Seq2[[]byte, error] {
	j.s.mu.Lock()
	lines := slices.Clone(j.s.lines)
	j.s.mu.Unlock()
	return func(yield func([]byte, error) bool) {
		for _, l := range lines {
			if !yield(l, nil) {
				return
			}
		}
	}
}

func (j *memoryJournal) Append(_ context.Context, line []byte) error {
	j.s.mu.Lock()
	defer j.s.mu.Unlock()
	if j.s.appends++; j.s.appends == j.s.loseAt {
		j.s.epoch = 0 // a lease that expired: another run may take the job
	}
	if j.s.epoch != j.epoch {
		return fmt.Errorf("run %d: %w", j.epoch, dynamo.ErrJournalLost)
	}
	j.s.lines = append(j.s.lines, slices.Clone(line))
	return nil
}

func (j *memoryJournal) Close() error {
	j.s.mu.Lock()
	defer j.s.mu.Unlock()
	if j.s.epoch == j.epoch {
		j.s.epoch = 0
	}
	return nil
}

func TestWithJournalStoreResumesFromAnotherStore(t *testing.T) {
	t.Parallel()
	bulkForms(t, func(t *testing.T, post func(*dynamo.Client, context.Context, int, ...dynamo.BulkOption) (*dynamo.BulkReport, error)) {
		srv, client, _ := newFake(t)
		// The hold is lost at the sixth append, chunk 2's outcome: its batch
		// was accepted, but the journal does not say so.
		store := &memoryStore{loseAt: 6}
		opts := []dynamo.BulkOption{dynamo.WithJournalStore(store), dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1)}
		rep, err := post(client, context.Background(), 500, opts...)
		require.ErrorIs(t, err, dynamo.ErrJournalLost)
		var jwe *dynamo.JournalWriteError
		require.ErrorAs(t, err, &jwe)
		assert.Equal(t, "memory", jwe.Path)
		require.Len(t, jwe.Unrecorded, 1)
		assert.Equal(t, 2, jwe.Unrecorded[0].Index)
		assert.Equal(t, dynamo.ChunkAccepted, jwe.Unrecorded[0].State)
		assert.Contains(t, err.Error(), "the outcome of 1 chunk posted by this run is not in the journal, and a run with it will read it as unknown: chunk 2 (records [200, 300)) accepted as batch "+jwe.Unrecorded[0].BatchID)
		var be *dynamo.BulkError
		require.ErrorAs(t, err, &be, "the chunks not accepted are listed too")
		assert.ErrorIs(t, be.Stop, dynamo.ErrJournalLost)
		assert.Equal(t, []dynamo.ChunkState{dynamo.ChunkAccepted, dynamo.ChunkAccepted, dynamo.ChunkAccepted, dynamo.ChunkNotStarted, dynamo.ChunkNotStarted},
			chunkStates(rep), "no chunk starts after the hold is lost")
		assert.Len(t, srv.Batches(), 3)
		assert.Len(t, store.lines, 5, "the line of the run that lost its hold is not written")

		// While a run holds the journal, another is refused and posts nothing.
		held, err := store.Open(context.Background())
		require.NoError(t, err)
		rep, err = post(client, context.Background(), 500, opts...)
		require.ErrorIs(t, err, dynamo.ErrJournalInUse)
		assert.Nil(t, rep)
		assert.EqualError(t, err, "dynamo: journal memory: the journal is in use by another run (held by run 2): nothing was posted; wait for that run to end",
			"each thing said once")
		require.NoError(t, held.Close())
		assert.Len(t, srv.Batches(), 3)

		// The next run reads the chunk whose outcome is missing as unknown.
		rep, err = post(client, context.Background(), 500, opts...)
		require.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		assert.Equal(t, []dynamo.ChunkState{dynamo.ChunkSkipped, dynamo.ChunkSkipped, dynamo.ChunkUnknown, dynamo.ChunkAccepted, dynamo.ChunkAccepted},
			chunkStates(rep))
		requireAcceptedOnce(t, srv, 500)

		var accepted []int
		for ch, err := range dynamo.AcceptedChunks(context.Background(), store) {
			require.NoError(t, err)
			require.Len(t, ch.TaskIDs, ch.End-ch.First)
			fb, ok := srv.Batch(ch.BatchID)
			require.True(t, ok)
			for k, task := range fb.Tasks {
				require.Equal(t, task.ID, ch.TaskIDs[k])
			}
			accepted = append(accepted, ch.Index)
		}
		assert.Equal(t, []int{0, 1, 3, 4}, accepted, "chunk 2's outcome was never recorded")
	})
}

func TestWithJournalStoreRefusesNil(t *testing.T) {
	t.Parallel()
	_, client, _ := newFake(t)
	_, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1)}, dynamo.WithJournalStore(nil))
	assert.EqualError(t, err, "dynamo: PostBulk: WithJournalStore: nil store")
	n := 0
	for _, err := range dynamo.AcceptedChunks(context.Background(), nil) {
		assert.EqualError(t, err, "dynamo: AcceptedChunks: nil store")
		n++
	}
	assert.Equal(t, 1, n)
}

func chunkStates(rep *dynamo.BulkReport) []dynamo.ChunkState {
	var states []dynamo.ChunkState
	for _, ch := range rep.Chunks {
		states = append(states, ch.State)
	}
	return states
}

// outcomeFailStore is a memoryStore whose appends of outcome lines fail,
// and which closes chunk1Failed when chunk 1's outcome was refused.
type outcomeFailStore struct {
	memoryStore
	chunk1Failed chan struct{}
	once         sync.Once
}

func (s *outcomeFailStore) Open(ctx context.Context) (dynamo.Journal, error) {
	j, err := s.memoryStore.Open(ctx)
	if err != nil {
		return nil, err
	}
	return &outcomeFailJournal{Journal: j, s: s}, nil
}

type outcomeFailJournal struct {
	dynamo.Journal
	s *outcomeFailStore
}

func (j *outcomeFailJournal) Append(ctx context.Context, line []byte) error {
	var rec struct {
		Chunk int    `json:"chunk"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(line, &rec); err != nil || rec.State == "posting" {
		return j.Journal.Append(ctx, line)
	}
	if rec.Chunk == 1 {
		j.s.once.Do(func() { close(j.s.chunk1Failed) })
	}
	return errors.New("disk full")
}

func TestJournalWriteErrorListsUnrecordedChunksInIndexOrder(t *testing.T) {
	t.Parallel()
	store := &outcomeFailStore{chunk1Failed: make(chan struct{})}
	// Chunk 0's answer waits until chunk 1's outcome was refused, so that
	// the chunks end in the order 1, 0.
	srv := dynamotest.NewServer(dynamotest.WithCredentials(testTenantID, testAPIKey),
		dynamotest.WithOnAccept(func(a dynamotest.Accepted) {
			if a.Batch != nil && a.Batch.Tasks[0].Params["id"] == recordID(0) {
				<-store.chunk1Failed
			}
		}))
	t.Cleanup(srv.Close)
	client, _ := newTestClient(t, srv.URL)
	_, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(200)},
		dynamo.WithJournalStore(store), dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(2))
	var jwe *dynamo.JournalWriteError
	require.ErrorAs(t, err, &jwe)
	var got []int
	for _, ch := range jwe.Unrecorded {
		got = append(got, ch.Index)
	}
	assert.Equal(t, []int{0, 1}, got, "in index order, not in the order the chunks ended")
	assert.Contains(t, err.Error(), "chunk 0 (records [0, 100)) accepted as batch "+jwe.Unrecorded[0].BatchID+"; chunk 1 (records [100, 200))")
}
