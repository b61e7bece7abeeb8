// Package dynamotest provides an in-memory fake of the Dynamo batch API and Task API
// for tests.
//
// A Server runs two loopback HTTP servers (from net/http/httptest). One plays the
// Dynamo API host:
//
//	POST /v1/batch                    post a batch (RoutePostBatch)
//	GET  /v1/batch/{batchId}          batch status (RouteBatchStatus)
//	GET  /v1/batch/{batchId}/{taskId} status of a batch's task (RouteBatchTaskStatus)
//	POST /v1/task                     post one task to the Task API (RoutePostTask)
//	GET  /v1/task/{taskId}            status of a Task API task (RouteGetTask)
//
// The other plays the storage host that serves result files through the signed URLs
// listed in a status's resultList. Point the SDK at it with Server.Client, or at
// Server.URL with any HTTP client:
//
//	srv := dynamotest.NewServer()
//	defer srv.Close()
//	client := srv.Client()
//	resp, err := client.PostBatch(ctx, batch)
//	// ...
//	srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0], dynamotest.ResultFile{ID: "Profile", Content: pdf})
//	got := srv.Requests() // what arrived on the wire, API key removed
//
// # Driving, seeding and watching
//
// A batch's task goes Queued, Running, then Completed; the test moves it with
// StartBatchTask, CompleteBatchTask, FailBatchTask and CompleteBatch. A Task API task
// goes Received, Queued, Running, then Ready, moved with QueueTask, StartTask,
// CompleteTask and FailTask. As in package dynamo, a name with "Task" alone is about
// the Task API and a batch's task says "Batch". WithAutoComplete completes every task
// the test leaves alone. SeedBatch and SeedTask store a batch or a task in a given
// state without a post. Batches, Batch, Tasks and Task return snapshots;
// Requests and StorageRequests return what arrived. WithOnAccept calls back on every
// accepted post, so a test can wait for one instead of polling. Inject queues Faults
// per Route. Reset forgets everything but the configuration. Helpers that seed,
// drive or inspect panic on misuse, such as an unknown ID, as do options given an
// invalid value.
//
// # A second opinion
//
// The fake checks requests against the documented wire protocol on its own: it parses
// JSON bodies with encoding/json and multipart bodies with mime/multipart and shares no
// validation, encoding or wire types with package dynamo. A request the SDK encodes
// wrongly is therefore refused here too, instead of being read back by the same code
// that wrote it. Where the vendor's documentation is silent, the fake is deliberately
// strict: unknown fields are refused, every problem is named in one 400 answer, the
// data part and every param part must be sent as application/json without a
// filename, and the template part as application/octet-stream with one.
//
// # Where the fake is simplified
//
// Where the vendor's documentation is silent, the fake makes a choice; these are its
// choices, and where it does less than the service:
//
//   - Timing. Nothing runs in the background. A task stays where the post left it
//     until the test drives it, or until the WithAutoComplete delay from its posting
//     has passed; that delay is judged lazily, by the clock, whenever state is read.
//     An auto-completed task jumps straight to completed, with its start at the
//     posting time. A task's startDateTime and endDateTime are left out of its status
//     until it starts and ends.
//   - Templates are never executed. An embedded template is only counted and hashed;
//     result files are whatever the test attaches (or WithResultFiles generates).
//   - Error responses. The vendor does not document error bodies, so every refusal by
//     the API host is the fake's own choice of status code with a JSON body
//     {"message": "..."}; the message texts are the fake's, not the service's. The
//     storage host answers errors as S3 does, with an XML <Error> document.
//   - Routing. A path the API does not have is answered 404 and a known path with
//     another method 405 with an Allow header, both after the credentials check: a
//     request without valid credentials gets 401 whatever its path. Paths are taken
//     as sent, never cleaned or redirected: /v1//batch and /v1/batch/ are unknown.
//   - Dates are written in UTC with six fractional digits, as in the vendor's
//     examples of completed work, also at whole seconds (11:03:39.000000Z).
//   - Result URLs. Each carries a query in the form of an S3 presigned URL
//     (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires=3600,
//     X-Amz-SignedHeaders, X-Amz-Signature) that only this server can sign. The
//     storage host answers 403 to a URL without a signature or with a wrong one, and
//     to one read more than 3600 seconds after its X-Amz-Date, which is the time of
//     the status read that handed it out (to the second, on the server's clock):
//     every status read hands out fresh URLs. A valid URL for a file that is gone
//     (after Reset, or when a driver replaced the results) is answered 404. Files
//     outlive the expiry of their batch or task status.
//   - Multipart posts, of either API. The template part must be typed
//     application/octet-stream, as documented, and carry a filename; the data part
//     and every param part must be typed application/json and carry no filename,
//     since a multipart server reads a part with a filename as a file upload, not as
//     a field. Other parts are refused.
//   - Batch multipart posts. A param part that no task's partParams names is
//     accepted and ignored, as the service most plausibly does; it shows in the
//     Batch snapshot (Parts, UnmappedParts). A partParams entry whose paramName is
//     "id" is refused: it would replace the task's record ID.
//   - Task API posts. A param part whose name is a key of params, or is "id", is
//     refused rather than letting one silently replace the other or the record ID.
//     partParams is refused: the Task API has none. Standalone (without integration),
//     params may be left out and params.id is a param like any other; with an
//     integration, params.id must be a non-empty string.
//   - Retention. Batches expire from the status endpoints 24 hours after posting, as
//     documented; Task API tasks 3 days after posting, the span the vendor's console
//     shows (the API's own retention is not documented). Both are judged with the
//     server's clock; snapshots keep expired ones.
//   - Usage. A batch answer's licenseUsage counts its tasks. A Task API answer's
//     usage.api.term counts the Task API posts accepted since the server started or
//     was Reset; usage.signing.term stays 0; the termMax values are WithUsageLimits'.
//     Nothing is refused over a limit, and there are no rate limits.
//   - Numbers inside params are decoded as encoding/json decodes them into an
//     interface value (float64).
//   - Faults are consumed per request. Go's http.Transport may silently resend an
//     idempotent GET whose reused connection was dropped; each such attempt is a new
//     request and consumes the next queued fault, if any.
//
// A Server is safe for concurrent use. Close it when the test ends; Close ends at once
// any request held by a Hang, Hold or Delay fault.
package dynamotest
