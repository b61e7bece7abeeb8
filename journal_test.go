package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// journalLines reads a journal, requiring that every line is a complete JSON
// object.
func journalLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, len(data) == 0 || data[len(data)-1] == '\n', "the journal ends with a complete line")
	var lines []map[string]any
	for i, raw := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m), "line %d is JSON: %s", i+1, raw)
		lines = append(lines, m)
	}
	return lines
}

// journaledJob runs a job of n records to its end with a new journal and
// returns the fake, the client, the journal's path and the job.
func journaledJob(t *testing.T, n int) (*dynamotest.Server, *dynamo.Client, string, *dynamo.Batch) {
	t.Helper()
	srv, client, _ := newFake(t)
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(n)}
	_, err := journalJob(client, b, path)
	require.NoError(t, err)
	return srv, client, path, b
}

// journalStates lists a journal's lines as "chunk state", in order.
func journalStates(t *testing.T, path string) []string {
	t.Helper()
	var states []string
	for _, line := range journalLines(t, path) {
		states = append(states, fmt.Sprintf("%v %v", line["chunk"], line["state"]))
	}
	return states
}

// journalJob runs PostBulk on b in chunks of 100, one at a time, with
// the journal at path.
func journalJob(client *dynamo.Client, b *dynamo.Batch, path string, opts ...dynamo.BulkOption) (*dynamo.BulkReport, error) {
	all := append([]dynamo.BulkOption{dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1), dynamo.WithJournal(path)}, opts...)
	return client.PostBulk(context.Background(), b, all...)
}

func TestJournalResumesACancelledJobWithoutPostingTwice(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t)
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(1000)}

	// The first run stops after its second chunk, as a process killed there would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := 0
	rep, err := client.PostBulk(ctx, b, dynamo.WithChunkSize(100), dynamo.WithBulkConcurrency(1), dynamo.WithJournal(path),
		dynamo.WithChunkDone(func(dynamo.ChunkResult) {
			if done++; done == 2 {
				cancel()
			}
		}))
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep)
	assert.Equal(t, 2, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 8, rep.Count(dynamo.ChunkNotStarted))
	assert.Equal(t, []string{"0 posting", "0 accepted", "1 posting", "1 accepted"}, journalStates(t, path))
	require.Len(t, srv.Batches(), 2)

	var results []dynamo.ChunkResult
	rep, err = journalJob(client, b, path, dynamo.WithChunkDone(func(r dynamo.ChunkResult) { results = append(results, r) }))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped), "the chunks done before are skipped")
	assert.Equal(t, 8, rep.Count(dynamo.ChunkAccepted))
	requireAcceptedOnce(t, srv, 1000)
	require.Len(t, journalLines(t, path), 20, "a posting line and an outcome line per chunk")

	require.Len(t, results, 10, "one callback per chunk, skipped ones included")
	for i, r := range results[:2] {
		assert.Equal(t, dynamo.ChunkSkipped, r.State, "skipped chunks are reported first")
		assert.Equal(t, i, r.Index)
		assert.NotEmpty(t, r.BatchID, "the batch ID comes from the journal")
		assert.Empty(t, r.TaskIDs, "task IDs are read back with AcceptedChunks")
	}
	onServer := make(map[string]string) // task ID → record ID
	for _, fb := range srv.Batches() {
		for _, task := range fb.Tasks {
			onServer[task.ID] = task.Params["id"].(string)
		}
	}
	records := 0
	for ch, err := range dynamo.AcceptedChunks(context.Background(), dynamo.FileJournal(path)) {
		require.NoError(t, err)
		require.Len(t, ch.TaskIDs, ch.End-ch.First)
		for i, id := range ch.TaskIDs {
			require.Equal(t, recordID(ch.First+i), onServer[id], "record %d's task ID", ch.First+i)
			records++
		}
	}
	assert.Equal(t, 1000, records, "every record's task ID")
}

func TestJournalLineFormat(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	const session = "00D5g000004QpXy!AQ4AQFake.Session.Secret" // of the tenant's org
	srv, client, _ := newFake(t, dynamo.WithMaxRetries(0))
	// The second post is refused by a server that echoes the request's secrets.
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{},
		dynamotest.Fault{Status: http.StatusBadRequest, Body: `{"message":"refused session ` + session + ` key ` + srv.APIKey + `"}`})
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(250), Integration: dynamo.Salesforce(session, "https://example.my.salesforce.com")}

	rep, err := journalJob(client, b, path)
	require.Error(t, err, "a chunk failed")
	assert.Equal(t, 2, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 1, rep.Count(dynamo.ChunkFailed))

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), session)
	assert.NotContains(t, string(data), srv.APIKey)
	assert.NotContains(t, string(data), "tmpl", "the template reference is only hashed")

	lines := journalLines(t, path)
	require.Equal(t, []string{"0 posting", "0 accepted", "1 posting", "1 failed", "2 posting", "2 accepted"}, journalStates(t, path),
		"each chunk's intent is written ahead of its post")
	posting, accepted, failed := lines[0], lines[1], lines[3]
	assert.Equal(t, float64(2), posting["v"])
	assert.Equal(t, float64(0), posting["chunk"])
	assert.Equal(t, float64(0), posting["first"])
	assert.Equal(t, float64(100), posting["end"])
	assert.Equal(t, recordID(0), posting["firstID"])
	assert.Equal(t, recordID(99), posting["lastID"])
	assert.Equal(t, accepted["tasksSHA256"], posting["tasksSHA256"])
	assert.NotEmpty(t, posting["time"])
	assert.NotContains(t, posting, "batchID")
	assert.Equal(t, float64(2), accepted["v"])
	assert.Equal(t, float64(0), accepted["chunk"])
	assert.Equal(t, float64(0), accepted["first"])
	assert.Equal(t, float64(100), accepted["end"])
	assert.Equal(t, "accepted", accepted["state"])
	assert.Equal(t, rep.Chunks[0].BatchID, accepted["batchID"])
	assert.Len(t, accepted["taskIDs"], 100)
	assert.Len(t, accepted["job"], 64)
	assert.Len(t, accepted["tasksSHA256"], 64)
	assert.NotEmpty(t, accepted["time"])
	assert.NotContains(t, accepted, "error")

	assert.Equal(t, float64(1), failed["chunk"])
	assert.Equal(t, float64(100), failed["first"])
	assert.Equal(t, float64(200), failed["end"])
	assert.Equal(t, "failed", failed["state"])
	assert.Contains(t, failed["error"], "400 Bad Request")
	assert.NotContains(t, failed, "batchID")
	assert.Equal(t, accepted["job"], failed["job"])
	assert.NotEqual(t, accepted["tasksSHA256"], failed["tasksSHA256"])

	assert.Equal(t, float64(250), lines[5]["end"])
}

func TestJournalPostsFailedChunksAgain(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t, dynamo.WithMaxRetries(0))
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{},
		dynamotest.Fault{Status: http.StatusBadRequest, Body: `{"message":"record a010000150 is locked"}`})
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(300)}

	rep, err := journalJob(client, b, path)
	require.Error(t, err, "a chunk failed")
	require.Equal(t, 1, rep.Count(dynamo.ChunkFailed))
	require.Len(t, srv.Batches(), 2)

	// A definite failure created nothing, so the chunk is posted again, even
	// with a record corrected in between.
	b.Tasks[150].Params["row"] = "corrected"
	rep, err = journalJob(client, b, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped))
	assert.Equal(t, 1, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 1, rep.Chunks[1].Index)
	assert.Equal(t, dynamo.ChunkAccepted, rep.Chunks[1].State)
	requireAcceptedOnce(t, srv, 300)

	fb, ok := srv.Batch(rep.Chunks[1].BatchID)
	require.True(t, ok)
	assert.Equal(t, "corrected", fb.Tasks[50].Params["row"])
	assert.Equal(t, []string{"0 posting", "0 accepted", "1 posting", "1 failed", "2 posting", "2 accepted", "1 posting", "1 accepted"},
		journalStates(t, path), "a later line overrides the failed one")
}

func TestJournalDoesNotRepostAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t)
	// The second chunk's batch is created, but its answer never arrives.
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{}, dynamotest.Fault{DropAfterAccept: true})
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(300)}

	rep, err := journalJob(client, b, path)
	require.ErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a chunk's outcome is unknown")
	assert.Equal(t, 2, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 1, rep.Count(dynamo.ChunkUnknown))
	assert.ErrorIs(t, rep.Chunks[1].Err, dynamo.ErrOutcomeUnknown)
	assert.False(t, rep.Chunks[1].FromJournal, "this run's outcome")
	assert.ErrorIs(t, rep.Err(), dynamo.ErrOutcomeUnknown)
	lines := journalLines(t, path)
	require.Equal(t, []string{"0 posting", "0 accepted", "1 posting", "1 unknown", "2 posting", "2 accepted"}, journalStates(t, path))
	assert.NotEmpty(t, lines[3]["error"])
	requireAcceptedOnce(t, srv, 300) // the dropped post did create its batch

	// Run again: the unknown chunk is reported, not posted.
	posts := requestsTo(srv, http.MethodPost)
	var results []dynamo.ChunkResult
	rep, err = journalJob(client, b, path, dynamo.WithChunkDone(func(r dynamo.ChunkResult) { results = append(results, r) }))
	require.ErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a chunk's outcome is still unknown")
	assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped))
	assert.Equal(t, 1, rep.Count(dynamo.ChunkUnknown))
	assert.Zero(t, rep.Count(dynamo.ChunkAccepted))
	unknown := rep.Chunks[1]
	require.ErrorIs(t, unknown.Err, dynamo.ErrOutcomeUnknown)
	assert.Equal(t, dynamo.ChunkUnknown, unknown.State)
	assert.True(t, unknown.FromJournal, "an earlier run's outcome")
	assert.True(t, rep.Chunks[0].FromJournal)
	assert.Equal(t, lines[2]["time"], unknown.PostedAt.Format(time.RFC3339Nano), "when the earlier run posted it")
	for _, want := range []string{path + ", line 4", "records [100, 200)", recordID(100) + " to " + recordID(199),
		"Dynamo console", "WithRepostUnknown"} {
		assert.Contains(t, unknown.Err.Error(), want)
	}
	assert.Len(t, results, 3, "the unknown chunk is reported to the callback too")
	assert.Len(t, journalLines(t, path), 6, "nothing new to record")
	requireAcceptedOnce(t, srv, 300)

	// Told that the batch was not created after all, the caller posts it again.
	rep, err = journalJob(client, b, path, dynamo.WithRepostUnknown())
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 1, rep.Count(dynamo.ChunkAccepted))
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped))
	counts := acceptedCounts(srv)
	assert.Equal(t, 2, counts[recordID(100)], "reposted on request")
	assert.Equal(t, 1, counts[recordID(99)])
	assert.Equal(t, 1, counts[recordID(200)])

	rep, err = journalJob(client, b, path)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Count(dynamo.ChunkSkipped), "the accepted line overrides the unknown one")
}

func TestJournalRepairsATruncatedLastLine(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t)
	path := filepath.Join(t.TempDir(), "job.journal")
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(500)}
	rep, err := journalJob(client, b, path)
	require.NoError(t, err)
	require.Equal(t, 5, rep.Count(dynamo.ChunkAccepted))

	// Cut the last line in half: what a crash during its write leaves. The
	// chunk's batch was accepted, and its posting line says it may have been:
	// the next run reports it unknown and does not post it again.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	start := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	require.NoError(t, os.WriteFile(path, data[:start+(len(data)-start)/2], 0o600))

	posts := requestsTo(srv, http.MethodPost)
	rep, err = journalJob(client, b, path)
	require.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
	assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
	assert.Equal(t, 4, rep.Count(dynamo.ChunkSkipped))
	assert.Equal(t, dynamo.ChunkUnknown, rep.Chunks[4].State)
	assert.ErrorContains(t, rep.Chunks[4].Err, "ended before its outcome was known")
	requireAcceptedOnce(t, srv, 500)
	lines := journalLines(t, path) // every line is whole again
	require.Len(t, lines, 9)
	assert.Equal(t, "posting", lines[8]["state"])
}

func TestJournalKeepsACompleteLastLineWithoutNewline(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, path, b := journaledJob(t, 200)

	// Only the newline is missing: the line is whole, and its chunk was accepted.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.TrimSuffix(data, []byte("\n")), 0o600))

	rep, err := journalJob(client, b, path)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped))
	assert.Zero(t, rep.Count(dynamo.ChunkAccepted))
	requireAcceptedOnce(t, srv, 200)
	require.Len(t, journalLines(t, path), 4)
}

func TestJournalRefusesACorruptLine(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, path, b := journaledJob(t, 300)

	for _, tc := range []struct{ name, line, want string }{
		{"not JSON", `{"v":1,"job":`, "line 2: not a journal line"},
		{"unknown state", `{"v":1,"job":"` + string(bytes.Repeat([]byte("a"), 64)) + `","chunk":1,"first":100,"end":200,"tasksSHA256":"` + string(bytes.Repeat([]byte("b"), 64)) + `","state":"done"}`, `line 2: not a journal line: unknown state "done"`},
		{"newer version", `{"v":3}`, "line 2: not a journal line: format version 3"},
		{"posting in version 1", `{"v":1,"job":"` + string(bytes.Repeat([]byte("a"), 64)) + `","chunk":1,"first":100,"end":200,"tasksSHA256":"` + string(bytes.Repeat([]byte("b"), 64)) + `","state":"posting"}`, `line 2: not a journal line: a "posting" line in a version 1 journal`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			lines := bytes.SplitAfter(data, []byte("\n"))
			corrupt := bytes.Join([][]byte{lines[0], []byte(tc.line + "\n"), lines[1]}, nil)
			bad := filepath.Join(t.TempDir(), "corrupt.journal")
			require.NoError(t, os.WriteFile(bad, corrupt, 0o600))
			posts := requestsTo(srv, http.MethodPost)

			rep, err := journalJob(client, b, bad)
			require.Error(t, err)
			assert.Nil(t, rep)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
			after, err := os.ReadFile(bad)
			require.NoError(t, err)
			assert.Equal(t, corrupt, after, "the journal is left as it was")
		})
	}
}

func TestJournalOfAnotherJobIsRefused(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, path, b := journaledJob(t, 300)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	changed := &dynamo.Batch{Template: "tmpl", Tasks: records(300)}
	changed.Tasks[150].Params["row"] = "edited after the first run"
	for _, tc := range []struct {
		name string
		b    *dynamo.Batch
		opts []dynamo.BulkOption
		want string
	}{
		{"a record changed", changed, nil, "line 4 belongs to a different job (records [100, 200) differ"},
		{"fewer records", &dynamo.Batch{Template: "tmpl", Tasks: records(150)}, nil, "line 4 belongs to a different job (it records chunk 1 as records [100, 200), the job's chunk 1 is [100, 150))"},
		{"other template", &dynamo.Batch{Template: "other", Tasks: records(300)}, nil, "line 1 belongs to a different job"},
		{"other chunk size", b, []dynamo.BulkOption{dynamo.WithChunkSize(50)}, "line 1 belongs to a different job"},
		{"embedded template", &dynamo.Batch{Tasks: records(300)},
			[]dynamo.BulkOption{dynamo.WithBulkTemplate(dynamo.TemplateFromBytes("tmpl", []byte("DAP")))}, "line 1 belongs to a different job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			posts := requestsTo(srv, http.MethodPost)
			rep, err := journalJob(client, tc.b, path, tc.opts...)
			require.ErrorIs(t, err, dynamo.ErrJournalMismatch)
			assert.Nil(t, rep)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
		})
	}
	t.Run("other tenant", func(t *testing.T) {
		// The same job against another tenant, such as production after a
		// sandbox run, must not skip the chunks the sandbox accepted.
		other := dynamotest.NewServer(dynamotest.WithCredentials("00D000000000002AAA", "another-key"))
		defer other.Close()
		otherClient := other.Client()
		defer otherClient.CloseIdleConnections()
		rep, err := journalJob(otherClient, b, path)
		require.ErrorIs(t, err, dynamo.ErrJournalMismatch)
		assert.Nil(t, rep)
		assert.Contains(t, err.Error(), "line 1 belongs to a different job (another tenant, template or chunk size)")
		assert.Empty(t, other.Requests())
	})
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the journal is left as it was")
	requireAcceptedOnce(t, srv, 300)
}

func TestJournalMustBeARegularFile(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	if _, err := os.Stat(os.DevNull); err != nil {
		t.Skip("no null device")
	}
	srv, client, _ := newFake(t)
	rep, err := journalJob(client, &dynamo.Batch{Template: "tmpl", Tasks: records(10)}, os.DevNull)
	require.Error(t, err)
	assert.Nil(t, rep)
	assert.Contains(t, err.Error(), "not a regular file")
	assert.Empty(t, srv.Requests())
}

func TestJournalOfTheEarlierFormatIsStillRead(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, _ := newFake(t)
	path := filepath.Join(t.TempDir(), "job.journal")
	_, err := journalJob(client, &dynamo.Batch{Template: "tmpl", Tasks: records(200)}, path)
	require.NoError(t, err)

	// Version 1 wrote one line per finished chunk: no posting line, no IDs.
	var v1 bytes.Buffer
	for _, line := range journalLines(t, path) {
		if line["state"] == "posting" {
			continue
		}
		line["v"] = 1
		delete(line, "firstID")
		delete(line, "lastID")
		data, err := json.Marshal(line)
		require.NoError(t, err)
		v1.Write(append(data, '\n'))
	}
	require.NoError(t, os.WriteFile(path, v1.Bytes(), 0o600))

	b := &dynamo.Batch{Template: "tmpl", Tasks: records(300)}
	rep, err := journalJob(client, b, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	assert.Equal(t, 2, rep.Count(dynamo.ChunkSkipped), "the chunks that version 1 recorded as accepted")
	assert.Equal(t, 1, rep.Count(dynamo.ChunkAccepted))
	requireAcceptedOnce(t, srv, 300)
	assert.Equal(t, []string{"0 accepted", "1 accepted", "2 posting", "2 accepted"}, journalStates(t, path))
}

func TestJournalRefusesAWholeLastLineItCannotUse(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, path, b := journaledJob(t, 200)

	// A line of a later version, whose newline was lost: whole, not cut.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	later := append(data, `{"v":3,"chunk":2,"state":"posting"}`...)
	require.NoError(t, os.WriteFile(path, later, 0o600))
	posts := requestsTo(srv, http.MethodPost)
	rep, err := journalJob(client, b, path)
	assert.Nil(t, rep)
	assert.ErrorContains(t, err, "line 5: not a journal line: format version 3")
	assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, append(later, '\n'), after, "the line is not cut off, only given its newline back")
}

func TestJournalReportsAnAcceptedChunkWithTheWrongNumberOfTaskIDs(t *testing.T) {
	t.Parallel()
	locksJournals(t)
	srv, client, path, b := journaledJob(t, 200)

	// The accepted line of chunk 1 lists one task ID too few.
	var edited bytes.Buffer
	for _, line := range journalLines(t, path) {
		if line["chunk"] == 1.0 && line["state"] == "accepted" {
			line["taskIDs"] = line["taskIDs"].([]any)[1:]
		}
		data, err := json.Marshal(line)
		require.NoError(t, err)
		edited.Write(append(data, '\n'))
	}
	require.NoError(t, os.WriteFile(path, edited.Bytes(), 0o600))

	posts := requestsTo(srv, http.MethodPost)
	rep, err := journalJob(client, b, path)
	var countErr *dynamo.BatchTaskCountError
	require.ErrorAs(t, err, &countErr)
	assert.Equal(t, 100, countErr.Posted)
	assert.Len(t, countErr.Response.TaskIDs, 99)
	assert.Equal(t, rep.Chunks[1].BatchID, countErr.Response.ID)
	assert.Equal(t, dynamo.ChunkSkipped, rep.Chunks[1].State, "the batch exists: it is not posted again")
	assert.NoError(t, rep.Chunks[0].Err)
	assert.Equal(t, posts, requestsTo(srv, http.MethodPost), "nothing is posted")
}
