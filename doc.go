// Package dynamo is a client for Documill Dynamo's batch API: it posts batches of
// document-generation tasks, reads batch and task status, waits for batches to
// finish and downloads their results.
//
// A Client is safe for concurrent use by multiple goroutines and should be
// reused: it holds a pool of connections to the API host.
//
// Every call goes through one request path that validates input before the
// network, sets the two credential headers, retries what is safe to retry, reads
// a bounded amount of any response body and turns a failure into a typed error:
//
//   - a batch the API would refuse fails with a *ValidationError listing every
//     problem, and no request is sent;
//   - an answer other than success is an *APIError, matched with errors.Is
//     against ErrNotFound, ErrUnauthorized or ErrRateLimited;
//   - a post whose outcome cannot be known (the connection was lost after the
//     body was sent, a gateway timed out) matches ErrOutcomeUnknown: the batch
//     may have been created, and the SDK never posts it again on its own.
//
// The API key and the Salesforce session ID never appear in a log line, an
// error string or the formatted value of any type of this package.
//
// Package dynamotest provides an in-memory fake of the API for tests.
package dynamo
