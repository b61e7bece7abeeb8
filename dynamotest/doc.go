// Package dynamotest provides an in-memory fake of the Dynamo batch API for tests.
//
// A Server runs two loopback HTTP servers (from net/http/httptest): one plays the
// Dynamo API host (POST /v1/batch, GET /v1/batch/{batchId}, GET
// /v1/batch/{batchId}/{taskId}) and one plays the storage host that serves result
// files through the URLs listed in a task's resultList. Point the SDK at it with
// Server.Client, or at Server.URL with any HTTP client:
//
//	srv := dynamotest.NewServer()
//	defer srv.Close()
//	client := srv.Client()
//	resp, err := client.PostBatch(ctx, batch)
//	// ...
//	srv.CompleteTask(resp.ID, resp.TaskIDs[0], dynamotest.ResultFile{ID: "Profile", Content: pdf})
//	got := srv.Requests() // what arrived on the wire, API key removed
//
// # A second opinion
//
// The fake checks requests against the documented wire protocol on its own: it parses
// JSON bodies with encoding/json and multipart bodies with mime/multipart and shares no
// validation, encoding or wire types with package dynamo. A request the SDK encodes
// wrongly is therefore refused here too, instead of being read back by the same code
// that wrote it. Where the vendor's documentation is silent, the fake is deliberately
// strict: unknown fields are refused, the data part and every param part must be sent
// as application/json, and the template part must carry a file name.
//
// # Where the fake is simplified
//
//   - Timing. Nothing runs in the background. A task stays "Queued" until the test
//     drives it with StartTask, CompleteTask, FailTask or CompleteBatch, or until the
//     WithAutoComplete delay has passed; that delay is judged lazily, by the clock,
//     whenever state is read. An auto-completed task jumps from "Queued" straight to
//     "Completed" with StartedAt equal to the posting time.
//   - Templates are never executed. An embedded template is only counted and hashed;
//     result files are whatever the test attaches (or WithResultFiles generates).
//   - Error responses. The vendor does not document error bodies, so every refusal is
//     the fake's own choice of status code with a JSON body {"message": "..."}; the
//     message texts are the fake's and are not those of the real service.
//   - No rate limits, quotas or licence accounting beyond the licenseUsage count.
//   - Batches expire from the status endpoints 24 hours after posting, judged with the
//     server's clock. Result URLs carry no signature and never expire.
//   - Numbers inside task params are decoded as encoding/json decodes them into an
//     interface value (float64).
//   - Faults are consumed per request. Go's http.Transport may silently resend an
//     idempotent GET whose reused connection was dropped; each such attempt is a new
//     request and consumes the next queued fault, if any.
//
// A Server is safe for concurrent use. Close it when the test ends; Close ends at once
// any request held by a Hang or Delay fault.
package dynamotest
