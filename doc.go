// Package dynamo is a client for Documill Dynamo's two asynchronous APIs,
// which run a document template (a DAP file) over Salesforce records:
//
//   - the batch API runs one template over up to MaxTasksPerBatch records
//     (PostBatch, PostBatchWithTemplate, GetBatchStatus, GetBatchTaskStatus,
//     WaitBatch, BatchTaskStatuses), and PostBulk posts any number of records
//     as consecutive batches (PostBulkFrom reads them from a source, in memory
//     that does not grow with the job), with a write-ahead journal that lets
//     a job stopped by a crash, a kill or a signal run again without posting
//     any record twice;
//   - the Task API runs one template for one record, or standalone, now
//     (PostTask, PostTaskWithTemplate, GetTask, WaitTask).
//
// Result files of either are downloaded with DownloadResult.
//
// A Client is safe for concurrent use by multiple goroutines and should be
// reused: it holds a pool of connections to the API host.
//
// Every call goes through one request path that validates input before the
// network, sets the two credential headers, retries what is safe to retry, reads
// a bounded amount of any response body and turns a failure into a typed error:
//
//   - a request the API would refuse fails with a *ValidationError listing every
//     problem, and no request is sent;
//   - an answer that is not the call's result is an *APIError, matched with
//     errors.Is against ErrNotFound, ErrUnauthorized or ErrRateLimited, or
//     ErrUnexpectedResponse for a success whose body could not be used; a
//     call that got no answer is a *TransportError;
//   - a post that the server may have taken without the SDK learning its ID
//     matches ErrOutcomeUnknown: the batch or task may exist, and the SDK
//     never posts it again on its own. These are every such case: the
//     connection was lost, or the call's context ended, after the whole
//     body was sent (a *TransportError); a 500, 502, 504 or another 5xx but
//     501, 503 and 505; a redirect (3xx), which the SDK never follows for a
//     post; a success whose body does not give the ID: cut short, not JSON,
//     or without it (each an *APIError, with its status and request ID).
//   - every other failure of a post provably created nothing: the error
//     says whether any of the request was sent, and the post can be made
//     again.
//
// Which of these an attempt comes to is decided in one place, for every call
// alike; any 2xx answer that gives the batch or task ID is a success.
//
// Every option of the package (Option, PollOption, WaitBatchOption,
// WaitTaskOption, BatchTaskStatusesOption, BulkOption) given a value it cannot
// use makes its call fail with a *ConfigError that names it (matching
// ErrInvalidConfig), before anything is sent; a nil option is skipped.
//
// Every post with Salesforce carries a session: a fixed one (Salesforce), or
// one that a SessionSource gives as each post is made (SalesforceFrom), so
// that a long-lived program, or a bulk run of many hours, posts with a fresh
// one. Package salesforce has sources for the OAuth 2.0 JWT bearer and client
// credentials flows, a refresh token, the Salesforce CLI, and the chain of
// environment variables that the dynamo tool reads. A session of another org
// than the tenant's is refused before the network.
//
// The API key, the Salesforce session ID and the signed query of a result
// URL never appear in a log line, an error string or the formatted value of
// any type of this package.
//
// Package dynamotest provides an in-memory fake of both APIs for tests.
// Package journaltest checks that a JournalStore of your own keeps the
// journal's contract; the module github.com/dynamokit/dynamo/pgjournal keeps
// a bulk job's journal in PostgreSQL, for a job that several machines run.
//
// # The bulk journal
//
// With a journal (WithJournal for a file, WithJournalStore for any
// JournalStore), PostBulk and PostBulkFrom write ahead what they are about
// to do and what came of it, and resume from it, so that no record is
// posted twice across a crash, a kill, a signal, a full disk or a second run
// started at the same time. The journal holds no secret.
//
// Writing ahead: before a chunk is sent, a "posting" line is appended and
// made durable; when the chunk's outcome is known, a line with the outcome
// follows. A chunk whose "posting" line cannot be written is not sent. When
// any append fails, no further chunk is started, and the run returns a
// *JournalWriteError that lists every chunk whose outcome the journal does
// not hold, with its batch ID when it was accepted.
//
// One run at a time: a run holds the journal exclusively until it returns
// (a file's lock, which the system releases when the process ends, however
// it ends). A second run on the same journal fails at once with an error
// matching ErrJournalInUse, and posts nothing.
//
// Resuming: a run with the same journal reads it first, as a stream. The
// last line of a chunk says what is known of it:
//   - "accepted": the chunk is not posted again (ChunkSkipped); its batch ID
//     comes from the journal, and AcceptedChunks reads back its task IDs.
//   - "unknown", or "posting" without an outcome (the run that posted it
//     died or was cut off before the answer): the batch may exist. The chunk
//     is not posted again, unless WithRepostUnknown is given; its result is
//     ChunkUnknown with an error matching ErrOutcomeUnknown that says when it
//     was posted. The API cannot list batches: the vendor's console shows
//     what was posted.
//   - "failed": nothing was created; the chunk is posted again, even if its
//     records changed since.
//
// A journal written for another job (another tenant, template or chunk
// size), or that records an accepted, unknown or posting chunk with other
// records, makes the run fail with a *JournalMismatchError (matching
// ErrJournalMismatch) before posting anything. A file's last line cut short
// by a crash is removed; any other unreadable line is an error that names
// it.
//
// The format: one JSON object per line, readable as it is (a file holds
// them one per line, as shown):
//
//	{"v":2,"job":"<sha256>","chunk":2,"first":2000,"end":2500,"tasksSHA256":"<sha256>",
//	 "firstID":"a0B000002000","lastID":"a0B000002499","state":"posting","time":"2026-01-31T18:02:03.5Z"}
//	{"v":2,"job":"<sha256>","chunk":2,"first":2000,"end":2500,"tasksSHA256":"<sha256>",
//	 "firstID":"a0B000002000","lastID":"a0B000002499","state":"accepted","batchID":"…","taskIDs":["…"],
//	 "time":"2026-01-31T18:02:06.1Z"}
//
// "v" is the format's version: this SDK writes 2 and reads 1 and 2; a line
// of another version is refused rather than misread. "job" is a fingerprint
// of the tenant, the template (its reference, or the embedded file's name
// and size) and the chunk size; "tasksSHA256" is a hash of the chunk's tasks
// as JSON; "first" and "end" delimit the chunk's records (the job's records
// first to end-1, from 0) and "firstID" and "lastID" are their first and
// last record IDs. "state" is "posting", "accepted" (with the batch and task
// IDs), "unknown" or "failed" ("error" says why); "time" is when the line
// was written, in UTC.
package dynamo
