// Package dynamotest provides an in-memory fake of the Dynamo batch API and Task API
// for tests.
//
// A Server runs two HTTP servers (from net/http/httptest, on loopback ports unless
// WithListeners gives others). One plays the Dynamo API host:
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
// per Route. AdvanceClock moves the server's clock forward, for expiry and
// auto-completion. Reset forgets everything but the configuration. Helpers that seed,
// drive or inspect panic on misuse, such as an unknown ID, as do options given an
// invalid value.
//
// # The control API
//
// The API host also serves a control API under ControlPrefix (/_dynamotest/), a
// prefix the real API cannot have (its paths start with /v1): the same seeding,
// driving, fault and inspection as the Go methods, over HTTP with JSON in and out,
// for tests written in other languages and for a fake run as a process of its own
// ("dynamo fake"). It takes no credentials, and its requests are not recorded. In a
// Go test the methods stay the everyday way; ControlHandler returns the same handler.
//
//	Method Path (under /_dynamotest/)        Body                                   Answer
//	GET    batches                           -                                      200 {"batches": [batch…]}
//	POST   batches                           {"template", "integration", "postedAt", 201 {"id", "tasks": [taskId…]}
//	                                          "tasks": [{"params", "stage", "failure", "results"}]}
//	GET    batches/{batchId}                 -                                      200 batch
//	POST   batches/{batchId}/complete        -                                      200 batch
//	POST   batches/{batchId}/tasks/{taskId}/start     -                             200 task of the batch
//	POST   batches/{batchId}/tasks/{taskId}/complete  {"results": [result…]}        200 task of the batch
//	POST   batches/{batchId}/tasks/{taskId}/fail      {"message"}                   200 task of the batch
//	GET    tasks                             -                                      200 {"tasks": [task…]}
//	POST   tasks                             {"template", "integration", "postedAt", 201 {"id"}
//	                                          "params", "stage", "failure", "results"}
//	GET    tasks/{taskId}                    -                                      200 task
//	POST   tasks/{taskId}/queue              -                                      200 task
//	POST   tasks/{taskId}/start              -                                      200 task
//	POST   tasks/{taskId}/complete           {"results": [result…]}                 200 task
//	POST   tasks/{taskId}/fail               {"message"}                            200 task
//	POST   faults                            {"route", "faults": [fault…]}          200 {"route", "queued"}
//	POST   holds/{name}/release              -                                      200 {"released"}
//	GET    requests                          -                                      200 {"requests": [request…]}
//	GET    storage-requests                  -                                      200 {"requests": [request…]}
//	POST   reset                             -                                      200 {}
//	GET    clock                             -                                      200 {"now"}
//	POST   clock                             {"advance": "25h"}                     200 {"now"}
//
// Each call does what its Go method does: Batches, SeedBatch, Batch, CompleteBatch,
// StartBatchTask, CompleteBatchTask and FailBatchTask for batches; Tasks, SeedTask,
// Task, QueueTask, StartTask, CompleteTask and FailTask for the Task API; Inject,
// Requests, StorageRequests, Reset and AdvanceClock. A stage is "posted", "queued",
// "running", "done" or "failed". A result is {"id", "content"} with the file as
// text, or {"id", "contentBase64"}; snapshots list results as {"id", "size"}. A
// fault has every field of Fault in JSON: "delay" (a Go duration such as "1.5s"),
// "dropBeforeRead", "hang", "status", "body", "successStatus", "header" (a name to a
// value or a list of values), "dropAfterAccept", and "hold": a name, whose held
// requests are answered once holds/{name}/release is posted (or at reset). The route
// is a Route's text, such as "POST /v1/batch" or "GET /v1/batch/{batchId}". Dates are
// written as the API writes them and read in any RFC 3339 form.
//
// Nothing the control API writes holds a secret: the API key and other credential
// headers show as "[redacted]" (so that a key sent to the storage host stays
// visible), every "sessionID" in a body or part as "[redacted]", and a request's
// path never its query, so no result URL signature. A body that is not valid JSON is
// left out. A body may be empty where the table shows none.
//
// A refusal is a 4xx with {"message": "..."}: 400 for a body that is not the route's
// JSON (an unknown field is named, as json.Decoder.DisallowUnknownFields names it) or
// holds a value the Go method would panic on, 404 for an unknown path, batch, task or
// hold, and 405 with an Allow header for another method. A GET route answers HEAD
// too. The control API has no authentication: serve the fake on loopback only.
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
//     {"message": "..."}; the message texts are the fake's, not the service's,
//     except the 403 of an org mismatch, which is the vendor's. The
//     storage host answers errors as S3 does, with an XML <Error> document.
//   - Routing. A path the API does not have is answered 404 and a known path with
//     another method 405 with an Allow header, both after the credentials check: a
//     request without valid credentials gets 401 whatever its path. Paths are taken
//     as sent, never cleaned or redirected: /v1//batch and /v1/batch/ are unknown.
//   - Dates, in every date field of both APIs, are written as the service writes
//     them, which is how Java's Instant.toString writes an instant: UTC, with 0,
//     3, 6 or 9 fraction digits, as few as the instant needs. The vendor's
//     examples show each width but none: 2022-02-10T11:03:30.100Z (batch
//     status), 2022-02-10T11:03:39.616069Z (batch task status) and
//     2023-03-07T10:26:35.405631389Z (Task API status); at a whole second the
//     fraction is left out (2022-02-10T11:04:00Z). A client that parses only one
//     width breaks here as it would against the service.
//   - HEAD. Every GET route of both hosts answers HEAD as it answers GET, without
//     the body: the same status, the same headers and the Content-Length that GET
//     would send (RFC 9110, section 9.1, asks every general-purpose server for
//     GET and HEAD). A HEAD is recorded as such and consumes the GET route's next
//     fault. Other methods on a known path are answered 405 with an Allow header
//     that lists HEAD too ("GET, HEAD").
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
// # A fake Salesforce login host
//
// Salesforce runs a third loopback HTTP server, apart from any Server: a login host
// whose token endpoint, POST /services/oauth2/token, issues sessions of one org
// (OrgID) to the connected apps and users registered with it. Point a session
// source at its URL, or post forms to TokenURL with any HTTP client:
//
//	sf := dynamotest.NewSalesforce()
//	defer sf.Close()
//	sf.AddJWTApp(consumerKey, &privateKey.PublicKey)
//	sf.AddUser("integration@example.com")
//	// POST sf.TokenURL() grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…
//
// It takes three grants, each judged as strictly as Salesforce documents it:
//
//   - JWT bearer (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and
//     assertion): the header's alg must be RS256; iss a registered app's consumer
//     key, whose certificate or public key verifies the signature; aud the audience
//     (the fake's URL unless WithAudience says otherwise); exp a number of seconds
//     after the fake clock's now and at most 3 minutes after it; sub a registered
//     user pre-authorised for the app. No scope claim is wanted; other claims (iat,
//     prn) are ignored.
//   - Client credentials (grant_type=client_credentials): the app's consumer key and
//     secret, in the form or with HTTP basic authentication (form-encoded first, as
//     RFC 6749 says), never both; the session is the app's run-as user's.
//   - Refresh token (grant_type=refresh_token): a token from IssueRefreshToken, the
//     consumer key of its app, and the consumer secret when the app has one. An
//     app with RotateRefreshTokens answers with a new refresh token and revokes the
//     one used.
//
// A granted request is answered 200 with Salesforce's JSON: access_token (the
// session ID, the org's 15-character ID, "!" and 96 random characters),
// instance_url, id (URL/id/<OrgID>/<user ID>), token_type "Bearer", scope "api",
// issued_at (milliseconds on the fake's clock) and signature, and no expires_in,
// since Salesforce sends none. A refusal is a 400 with Salesforce's
// {"error": …, "error_description": …}: invalid_client_id "client identifier
// invalid" for an unknown app; invalid_client "invalid client credentials" for a
// wrong or missing secret; and invalid_grant with "invalid assertion" (malformed,
// not RS256, a bad signature, no exp, or an app without a key), "audience is
// invalid", "expired authorization code" (exp passed), "user hasn't approved this
// consumer" (an unknown, refused or not pre-authorised user), "expired
// access/refresh token", or "no client credentials user enabled"; an unknown grant
// type is unsupported_grant_type "grant type not supported". These texts are
// Salesforce's. Where Salesforce's are not known the texts are the fake's own:
// invalid_grant "expiration time is more than 3 minutes ahead", and every
// invalid_request description (a malformed form, or a wrong method: 405).
//
// Sessions expire after an inactivity timeout (WithSessionTimeout, 2 hours by
// default) on the fake's clock (WithSalesforceClock); UseSession uses one as an API
// call would. Requests and TokenRequests count and list what arrived, without any
// assertion, secret or token; Sessions and Session describe the sessions issued,
// without their IDs. FailNext answers the next token requests with an error status
// (a 503, say, to test a client's retries); HoldNext keeps one in flight until the
// test releases it; RefuseUser refuses a user from then on.
//
// The Server judges sessions too. A post whose integration session names another
// org than the tenant is refused with the vendor's 403 "Given organization id
// doesn't match given session id", on both APIs and in both forms; the two are
// compared on their first 15 characters, and only when the session starts with an
// org ID and "!" and the tenant ID is an org ID. With WithSalesforce, a task uses
// its session when it runs: when a driver starts it (StartBatchTask, StartTask),
// or completes or fails it without a start, at the server clock's now; and an
// auto-completed task at the end of its delay, however late that is read. A session
// the login host did not issue, or one unused for its timeout by then, fails the
// task: completed with errors, the status message and a SEVERE log entry
// "INVALID_SESSION_ID: Session expired or invalid", the error Salesforce's REST
// API answers such a session with, and no results. A live session counts as used
// then, which starts its inactivity timeout again. Nothing public says what Dynamo
// does with an expired session; this is the fake's choice.
//
// Where the login host is simplified:
//
//   - Only the token endpoint exists; every other path is answered 404. The
//     web-server flow's authorisation step is IssueRefreshToken.
//   - The form is read from the body alone: a parameter in the URL's query, a
//     parameter given twice, a parameter the grant does not take (scope among
//     them), a body that is not application/x-www-form-urlencoded, and any format
//     other than json are refused with invalid_request.
//   - Checks run in a fixed order and the first failure answers: the form, the grant
//     type, then for an assertion its form and alg, iss, the signature, aud, exp,
//     sub. Salesforce's own order is not documented.
//   - Any My Domain, login or sandbox distinction is left to the tests: the fake
//     takes every grant at its one URL, client credentials included, which
//     Salesforce takes on My Domain hosts only.
//   - A use renews a session at once. Salesforce renews it only in the second half
//     of its timeout; a test cannot tell the difference unless it looks at
//     LastUsed.
//   - The answer's signature is the base64 HMAC-SHA256 of id and issued_at, keyed
//     with the app's consumer secret, or with a key of the fake's for an app
//     without one.
//
// A Server is safe for concurrent use. Close it when the test ends; Close ends at once
// any request held by a Hang, Hold or Delay fault.
package dynamotest
