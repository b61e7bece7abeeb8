// Package dynamo is a client for Documill Dynamo's two asynchronous APIs,
// which run a document template (a DAP file) over Salesforce records:
//
//   - the batch API runs one template over up to MaxTasksPerBatch records
//     (PostBatch, PostBatchWithTemplate, GetBatchStatus, GetBatchTaskStatus,
//     WaitBatch, BatchTaskStatuses), and PostBulk posts any number of records as
//     consecutive batches, with a write-ahead journal that lets a job stopped
//     by a crash, a kill or a signal run again without posting any record
//     twice;
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
//     (the connection was lost after the body was sent, a 500, 502, 504 or
//     another 5xx but 501, 503 and 505, a success without an ID) matches
//     ErrOutcomeUnknown: the batch or task may
//     exist, and the SDK never posts it again on its own.
//
// Which of these an attempt comes to is decided in one place, for every call
// alike; any 2xx answer that gives the batch or task ID is a success.
//
// Every option type of the package (Option, PollOption, WaitBatchOption,
// WaitTaskOption, BatchTaskStatusesOption, BulkOption) is a function that returns an error naming itself for a value
// it cannot use, before anything is sent; a nil option is skipped.
//
// The API key, the Salesforce session ID and the signed query of a result
// URL never appear in a log line, an error string or the formatted value of
// any type of this package.
//
// Package dynamotest provides an in-memory fake of both APIs for tests.
package dynamo
