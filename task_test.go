package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// taskAccepted is the Task API's documented answer to a post.
const taskAccepted = `{"taskID":"t-223e5458ec7f9a57802e3e31deba48cb","message":"Success","usage":{"api":{"term":1,"termMax":10000},"signing":{"term":0,"termMax":500}}}`

// salesforceTask is a valid task by reference that carries the test session.
func salesforceTask() *dynamo.TaskRequest {
	return &dynamo.TaskRequest{
		Template:    "069000000000001AAA",
		Params:      dynamo.Params{"id": "001000000000001AAA", "locale": "fi-FI"},
		Integration: dynamo.Salesforce(testSessionID, testServerURL),
	}
}

// acceptTask answers every task post as the API does and hands what arrived
// to inspect.
func acceptTask(t *testing.T, mux *http.ServeMux, status int, inspect func(r *http.Request, body []byte)) *atomic.Int32 {
	var posts atomic.Int32
	mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		if inspect != nil {
			inspect(r, body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, taskAccepted)
	})
	return &posts
}

func TestPostTaskWireForm(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	posts := acceptTask(t, mux, http.StatusAccepted, func(r *http.Request, body []byte) {
		testMethod(t, r, http.MethodPost)
		testHeader(t, r, "Content-Type", "application/json")
		testHeader(t, r, "X-Dynamo-Tenant-Id", testTenantID)
		testHeader(t, r, "X-Dynamo-Api-Key", testAPIKey)
		testHeader(t, r, "Content-Length", strconv.Itoa(len(body)))
		assert.JSONEq(t, `{"template":"069000000000001AAA","params":{"id":"001000000000001AAA","locale":"fi-FI"},
			"integration":{"type":"Salesforce","sessionID":"`+testSessionID+`","serverURL":"`+testServerURL+`"}}`, string(body))
	})

	resp, err := client.PostTask(context.Background(), salesforceTask())
	require.NoError(t, err)
	assert.Equal(t, &dynamo.TaskResponse{
		TaskID:  "t-223e5458ec7f9a57802e3e31deba48cb",
		Message: "Success",
		Usage: dynamo.Usage{
			API:     dynamo.UsageCount{Term: 1, TermMax: 10000},
			Signing: dynamo.UsageCount{Term: 0, TermMax: 500},
		},
	}, resp)
	assert.Equal(t, "1 of 10000", resp.Usage.API.String())
	assert.EqualValues(t, 1, posts.Load())
}

func TestPostTaskStandalone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    *dynamo.TaskRequest
		want string
	}{
		{"no params", &dynamo.TaskRequest{Template: "tmpl"}, `{"template":"tmpl","params":{}}`},
		{"params without id", &dynamo.TaskRequest{Template: "tmpl", Params: dynamo.Params{"name": "Acme"}}, `{"template":"tmpl","params":{"name":"Acme"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			acceptTask(t, mux, http.StatusAccepted, func(_ *http.Request, body []byte) {
				assert.JSONEq(t, tc.want, string(body), "no integration, no id needed")
			})
			_, err := client.PostTask(context.Background(), tc.r)
			require.NoError(t, err)
		})
	}
}

// multipartParts reads a multipart body into its parts, in order.
func multipartParts(t *testing.T, r *http.Request, body []byte) []*multipartPart {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mediaType)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []*multipartPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		require.NoError(t, err)
		data, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, &multipartPart{name: p.FormName(), fileName: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
	}
}

type multipartPart struct {
	name, fileName, contentType string
	data                        []byte
}

func TestPostTaskWithTemplateWireForm(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	dap := bytes.Repeat([]byte("PK\x03\x04--\r\n"), 5000)
	acceptTask(t, mux, http.StatusAccepted, func(r *http.Request, body []byte) {
		testHeader(t, r, "Content-Length", strconv.Itoa(len(body)))
		assert.Empty(t, r.TransferEncoding, "every size is known: the length is declared")
		parts := multipartParts(t, r, body)
		require.Len(t, parts, 3)
		assert.Equal(t, "template", parts[0].name)
		assert.Equal(t, "quote.dap", parts[0].fileName)
		assert.Equal(t, "application/octet-stream", parts[0].contentType)
		assert.Equal(t, sha(dap), sha(parts[0].data), "the template's bytes")
		assert.Equal(t, "data", parts[1].name)
		assert.Equal(t, "application/json", parts[1].contentType)
		assert.JSONEq(t, `{"params":{"id":"001000000000001AAA","locale":"fi-FI"},
			"integration":{"type":"Salesforce","sessionID":"`+testSessionID+`","serverURL":"`+testServerURL+`"}}`,
			string(parts[1].data), "no template field in the data part")
		assert.Equal(t, "param.additionalData", parts[2].name)
		assert.Equal(t, "application/json", parts[2].contentType)
		assert.Empty(t, parts[2].fileName)
		assert.JSONEq(t, `{"lines":[1,2,3]}`, string(parts[2].data))
	})
	r := salesforceTask()
	r.Template = ""
	r.Parts = []dynamo.Part{{Name: "additionalData", Value: map[string]any{"lines": []int{1, 2, 3}}}}

	resp, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromBytes("quote.dap", dap), r)
	require.NoError(t, err)
	assert.Equal(t, "t-223e5458ec7f9a57802e3e31deba48cb", resp.TaskID)
}

func TestTaskRequestValidation(t *testing.T) {
	t.Parallel()
	valid := salesforceTask
	embedded := func() *dynamo.TaskRequest {
		r := valid()
		r.Template = ""
		return r
	}
	dap := dynamo.TemplateFromBytes("t.dap", []byte("DAP"))
	for _, tc := range []struct {
		name     string
		r        *dynamo.TaskRequest
		embedded bool
		want     []string // fields of the problems, in order
	}{
		{"nil", nil, false, []string{"request"}},
		{"nil embedded", nil, true, []string{"request"}},
		{"no template", &dynamo.TaskRequest{}, false, []string{"template"}},
		{"reference with an embedded template", valid(), true, []string{"template"}},
		{"salesforce without id", func() *dynamo.TaskRequest { r := valid(); delete(r.Params, "id"); return r }(), false, []string{"params.id"}},
		{"id not a string", func() *dynamo.TaskRequest { r := valid(); r.Params["id"] = 7; return r }(), false, []string{"params.id"}},
		{"empty id, standalone", &dynamo.TaskRequest{Template: "t", Params: dynamo.Params{"id": ""}}, false, []string{"params.id"}},
		{"NaN", func() *dynamo.TaskRequest { r := valid(); r.Params["x"] = math.NaN(); return r }(), false, []string{"params.x"}},
		{"infinity and a channel", func() *dynamo.TaskRequest {
			r := valid()
			r.Params["inf"], r.Params["ch"] = math.Inf(-1), make(chan int)
			return r
		}(), false, []string{"params.ch", "params.inf"}},
		{"a func", &dynamo.TaskRequest{Template: "t", Params: dynamo.Params{"f": func() {}}}, false, []string{"params.f"}},
		{"parts by reference", func() *dynamo.TaskRequest { r := valid(); r.Parts = []dynamo.Part{{Name: "a", Value: 1}}; return r }(), false, []string{"parts"}},
		{"bad part names", func() *dynamo.TaskRequest {
			r := embedded()
			r.Parts = []dynamo.Part{{Name: "a b", Value: 1}, {Name: "ok", Value: 1}, {Name: "ok", Value: 2}, {Name: "", Value: 3}}
			return r
		}(), true, []string{"parts[0].name", "parts[2].name", "parts[3].name"}},
		{"part named like a param", func() *dynamo.TaskRequest {
			r := embedded()
			r.Parts = []dynamo.Part{{Name: "locale", Value: "en"}}
			return r
		}(), true, []string{"parts[0].name"}},
		{"nil stream", func() *dynamo.TaskRequest {
			r := embedded()
			r.Parts = []dynamo.Part{{Name: "big", Value: (*dynamo.JSONStream)(nil)}}
			return r
		}(), true, []string{"parts[0].value"}},
		{"stream of negative size", func() *dynamo.TaskRequest {
			r := embedded()
			r.Parts = []dynamo.Part{{Name: "big", Value: dynamo.JSONStreamFromOpener(-5, func() (io.ReadCloser, error) { return nil, nil })}}
			return r
		}(), true, []string{"parts[0].value"}},
		{"part value that cannot be encoded", func() *dynamo.TaskRequest {
			r := embedded()
			r.Parts = []dynamo.Part{{Name: "p", Value: math.Inf(1)}}
			return r
		}(), true, []string{"parts[0].value"}},
		{"every problem at once", &dynamo.TaskRequest{
			Params:      dynamo.Params{"x": math.NaN()},
			Integration: &dynamo.Integration{Type: "Other"},
			Parts:       []dynamo.Part{{Name: "x", Value: 1}, {Name: "x", Value: 2}},
		}, false, []string{"template", "params.id", "parts", "integration.type", "integration.sessionID", "integration.serverURL", "params.x"}},
		{"every problem at once, embedded", &dynamo.TaskRequest{
			Template:    "t",
			Params:      dynamo.Params{"x": math.NaN()},
			Integration: &dynamo.Integration{Type: "Other"},
			Parts:       []dynamo.Part{{Name: "x", Value: 1}, {Name: "x", Value: 2}},
		}, true, []string{"template", "params.id", "parts[1].name", "parts[0].name", "integration.type", "integration.sessionID", "integration.serverURL", "params.x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			posts := acceptTask(t, mux, http.StatusAccepted, nil)
			var err error
			if tc.embedded {
				_, err = client.PostTaskWithTemplate(context.Background(), dap, tc.r)
			} else {
				_, err = client.PostTask(context.Background(), tc.r)
			}
			var ve *dynamo.ValidationError
			require.ErrorAs(t, err, &ve)
			var fields []string
			for _, p := range ve.Problems {
				fields = append(fields, p.Field)
			}
			assert.Equal(t, tc.want, fields, "%v", err)
			assert.Zero(t, posts.Load(), "nothing is sent")
			if tc.r != nil && !tc.embedded && tc.r.Template != "" {
				assert.Equal(t, err, tc.r.Validate(), "Validate finds the same problems")
			}
		})
	}
}

func TestPostTaskAnyAcceptedStatusIsSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusOK, http.StatusCreated, http.StatusAccepted} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			client, mux, _ := setup(t)
			posts := acceptTask(t, mux, status, nil)
			resp, err := client.PostTask(context.Background(), salesforceTask())
			require.NoError(t, err)
			assert.Equal(t, "t-223e5458ec7f9a57802e3e31deba48cb", resp.TaskID)
			assert.EqualValues(t, 1, posts.Load())
		})
	}
}

func TestPostTaskAnswersWithoutAnIDAreUnknown(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"message":"Success"}`, `null`, `{"taskID":5}`, `<html>OK</html>`, ``} {
		t.Run(body, func(t *testing.T) {
			client, mux, _ := setup(t)
			var posts atomic.Int32
			mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, body)
			})
			_, err := client.PostTask(context.Background(), salesforceTask())
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown, "the task may exist")
			assert.ErrorIs(t, err, dynamo.ErrUnexpectedResponse)
			assert.ErrorContains(t, err, "the task may have been created")
			assert.EqualValues(t, 1, posts.Load(), "never posted again")
		})
	}
}

func TestTaskUsageIsTolerant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, usage string
		want        dynamo.Usage
	}{
		{"absent", ``, dynamo.Usage{}},
		{"null", `,"usage":null`, dynamo.Usage{}},
		{"api only", `,"usage":{"api":{"term":3,"termMax":10}}`, dynamo.Usage{API: dynamo.UsageCount{Term: 3, TermMax: 10}}},
		{"other fields", `,"usage":{"api":{"term":3,"termMax":10,"period":"2026"},"signing":{"term":1,"termMax":5,"x":[1]},"storage":{}}`,
			dynamo.Usage{API: dynamo.UsageCount{Term: 3, TermMax: 10}, Signing: dynamo.UsageCount{Term: 1, TermMax: 5}}},
		{"signing of another shape", `,"usage":{"api":{"term":3,"termMax":10},"signing":"unlimited"}`, dynamo.Usage{API: dynamo.UsageCount{Term: 3, TermMax: 10}}},
		{"counts of another type", `,"usage":{"api":{"term":"3","termMax":1.5}}`, dynamo.Usage{}},
		{"usage not an object", `,"usage":[1,2]`, dynamo.Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"taskID":"t-1","message":"Success"`+tc.usage+`}`)
			})
			resp, err := client.PostTask(context.Background(), salesforceTask())
			require.NoError(t, err, "usage never fails a post")
			assert.Equal(t, tc.want, resp.Usage)
		})
	}
}

func TestGetTaskDecodesDocumentedExample(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("GET /v1/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "t-223e5458ec7f9a57802e3e31deba48cb", r.PathValue("id"))
		testHeader(t, r, "X-Dynamo-Api-Key", testAPIKey)
		io.WriteString(w, `{"startDateTime": "2023-03-07T10:26:35.405631389Z",
			"endDateTime": "2023-03-07T10:26:47.781174583Z",
			"completed": true, "errors": false,
			"results": ["Quote"], "resultList": [{"id": "Quote", "url": "https://files.example.com/q.pdf?X-Amz-Signature=abc"}],
			"statusMessage": "Ready", "statusDescription": "Ready",
			"logs": ["SEVERE one", {"level": "SEVERE"}]}`)
	})
	st, err := client.GetTask(context.Background(), "t-223e5458ec7f9a57802e3e31deba48cb")
	require.NoError(t, err)
	assert.Equal(t, "t-223e5458ec7f9a57802e3e31deba48cb", st.TaskID)
	assert.Equal(t, 405631389, st.StartDateTime.Nanosecond(), "nine-digit fractions")
	assert.Equal(t, "2023-03-07T10:26:47.781174583Z", st.EndDateTime.Raw)
	assert.True(t, st.Completed)
	assert.False(t, st.Errors)
	assert.Equal(t, dynamo.TaskStatusReady, st.StatusMessage)
	assert.Equal(t, "Ready", st.StatusDescription)
	assert.Equal(t, []string{"Quote"}, st.Results)
	assert.Equal(t, []dynamo.Result{{ID: "Quote", URL: "https://files.example.com/q.pdf?X-Amz-Signature=abc"}}, st.ResultList)
	assert.Equal(t, []string{"SEVERE one", `{"level": "SEVERE"}`}, st.Log, "logs, as documented")
}

func TestGetTaskKeepsAnUnexpectedDate(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("GET /v1/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"startDateTime":"datetime","endDateTime":"2023-03-07 10:26","statusMessage":"Running","log":[]}`)
	})
	st, err := client.GetTask(context.Background(), "t-1")
	require.NoError(t, err)
	assert.True(t, st.StartDateTime.IsZero())
	assert.Equal(t, "datetime", st.StartDateTime.String())
	assert.Equal(t, "2023-03-07 10:26", st.EndDateTime.Raw)
	assert.Equal(t, []string{}, st.Log, "an empty log is empty, not absent")
}

func TestTaskErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   error
	}{
		{http.StatusUnauthorized, dynamo.ErrUnauthorized},
		{http.StatusForbidden, dynamo.ErrUnauthorized},
		{http.StatusNotFound, dynamo.ErrNotFound},
		{http.StatusTooManyRequests, dynamo.ErrRateLimited},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			client, mux, _ := setup(t, dynamo.WithMaxRetries(0))
			mux.HandleFunc("/v1/task/", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"message":"no"}`, tc.status)
			})
			mux.HandleFunc("/v1/task", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"message":"no"}`, tc.status)
			})
			_, err := client.GetTask(context.Background(), "t-1")
			assert.ErrorIs(t, err, tc.want)
			_, err = client.PostTask(context.Background(), salesforceTask())
			assert.ErrorIs(t, err, tc.want)
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		})
	}
	t.Run("400 on a post", func(t *testing.T) {
		client, mux, _ := setup(t)
		mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req-42")
			http.Error(w, `{"message":"template not found"}`, http.StatusBadRequest)
		})
		_, err := client.PostTask(context.Background(), salesforceTask())
		var apiErr *dynamo.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		assert.Equal(t, "/v1/task", apiErr.Path)
		assert.Equal(t, "template not found", apiErr.Message)
		assert.Equal(t, "req-42", apiErr.RequestID)
		assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a refusal created nothing")
	})
	t.Run("500 on a post", func(t *testing.T) {
		client, mux, _ := setup(t)
		var posts atomic.Int32
		mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			http.Error(w, `{"message":"boom"}`, http.StatusInternalServerError)
		})
		_, err := client.PostTask(context.Background(), salesforceTask())
		assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		assert.EqualValues(t, 1, posts.Load(), "a post that may have been taken is not sent again")
	})
}

func TestPostTaskWithTemplateRetrySendsTheWholeTemplate(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	dap := bytes.Repeat([]byte("template bytes "), 10000)
	var bodies [][]byte
	mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		bodies = append(bodies, body)
		if len(bodies) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, taskAccepted)
	})
	_, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", dap), &dynamo.TaskRequest{})
	require.NoError(t, err)
	require.Len(t, bodies, 2)
	assert.Equal(t, bodies[0], bodies[1], "the second attempt sends the same body, template whole")
	assert.Greater(t, len(bodies[1]), len(dap))
}

func TestPostTaskFromReaderIsNeverSentTwice(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var posts atomic.Int32
	mux.HandleFunc("POST /v1/task", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	_, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP")), &dynamo.TaskRequest{})
	assert.ErrorIs(t, err, dynamo.ErrNotReplayable)
	assert.EqualValues(t, 1, posts.Load())
}

func TestTaskRequestJSON(t *testing.T) {
	t.Parallel()
	standalone := &dynamo.TaskRequest{Template: "t", Params: dynamo.Params{"n": 1.5}, Parts: []dynamo.Part{{Name: "p", Value: "v"}}}
	data, err := json.Marshal(standalone)
	require.NoError(t, err)
	var back dynamo.TaskRequest
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, standalone, &back, "a request without a session is stored and read back unchanged")

	_, err = json.Marshal(salesforceTask())
	assert.ErrorIs(t, err, dynamo.ErrSessionNotEncoded, "a session is never written to JSON")
}

func TestTaskAPIAgainstTheFake(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	dap := bytes.Repeat([]byte("PK\x03\x04 template "), 4000)
	r := &dynamo.TaskRequest{
		Params:      dynamo.Params{"id": "001000000000001AAA"},
		Integration: dynamo.Salesforce(testSessionID, testServerURL),
		Parts:       []dynamo.Part{{Name: "lines", Value: []map[string]any{{"sku": "A-1", "qty": 2}}}},
	}
	resp, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromBytes("quote.dap", dap), r)
	require.NoError(t, err)
	assert.Equal(t, dynamo.UsageCount{Term: 1, TermMax: 10000}, resp.Usage.API, "usage counts")

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	assert.Equal(t, "/v1/task", got.Path)
	assert.False(t, got.Chunked)
	assert.Equal(t, got.ContentLength, got.BytesRead, "the declared length is what was sent")
	require.NotNil(t, got.Template)
	assert.Equal(t, "quote.dap", got.Template.FileName)
	assert.Equal(t, "application/octet-stream", got.Template.ContentType)
	assert.Equal(t, sha(dap), got.Template.SHA256)
	assert.JSONEq(t, `[{"sku":"A-1","qty":2}]`, string(got.Parts["lines"]))

	task, ok := srv.Task(resp.TaskID)
	require.True(t, ok)
	assert.Equal(t, []any{map[string]any{"sku": "A-1", "qty": 2.0}}, task.Params["lines"], "part param.lines is the param lines")
	assert.Equal(t, testSessionID, task.Integration["sessionID"], "the API receives the session")

	// The lifecycle, read through GetTask.
	var seen []string
	for _, step := range []func(){
		func() {},
		func() { srv.QueueTask(resp.TaskID) },
		func() { srv.StartTask(resp.TaskID) },
		func() { srv.FailTask(resp.TaskID, "template error") },
	} {
		step()
		st, err := client.GetTask(context.Background(), resp.TaskID)
		require.NoError(t, err)
		seen = append(seen, st.StatusMessage)
		if st.Completed {
			assert.True(t, st.Errors)
			assert.NotEmpty(t, st.Log)
		}
	}
	assert.Equal(t, []string{dynamo.TaskStatusReceived, dynamo.TaskStatusQueued, dynamo.TaskStatusRunning, "template error"}, seen)

	_, err = client.GetTask(context.Background(), "t-00000000000000000000000000000000")
	assert.ErrorIs(t, err, dynamo.ErrNotFound)
	assert.NotContains(t, err.Error(), "GetBatchTaskStatus", "a Task API ID that is not found gets no hint")
}

func TestGetTaskOfABatchTaskSaysWhichCallReadsIt(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	resp, err := client.PostBatch(context.Background(), salesforceBatch(1))
	require.NoError(t, err)
	_, err = client.GetTask(context.Background(), resp.TaskIDs[0])
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.ErrorIs(t, err, dynamo.ErrNotFound)
	assert.ErrorContains(t, err, `a Task API task ID starts with "t-": a batch's task is read with GetBatchTaskStatus`)
	_, err = client.GetBatchTaskStatus(context.Background(), resp.ID, resp.TaskIDs[0])
	assert.NoError(t, err, "the call the error names reads it")
	assert.Len(t, srv.Requests(), 3)
}

func TestTaskPostFaultsAgainstTheFake(t *testing.T) {
	t.Parallel()
	dap := bytes.Repeat([]byte("template "), 20000)
	t.Run("503 then 202 sends the whole template again", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Status: http.StatusServiceUnavailable})
		_, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", dap), &dynamo.TaskRequest{})
		require.NoError(t, err)
		reqs := srv.Requests()
		require.Len(t, reqs, 2)
		require.NotNil(t, reqs[1].Template)
		assert.Equal(t, sha(dap), reqs[1].Template.SHA256)
		assert.Equal(t, reqs[1].ContentLength, reqs[1].BytesRead)
		assert.Len(t, srv.Tasks(), 1)
	})
	t.Run("accepted then dropped is unknown after one attempt", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{DropAfterAccept: true})
		_, err := client.PostTask(context.Background(), salesforceTask())
		assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
		var te *dynamo.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 1, te.Attempts)
		assert.Len(t, srv.Requests(), 1, "not sent again")
		assert.Len(t, srv.Tasks(), 1, "the task exists")
	})
	t.Run("201 is a success", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{SuccessStatus: http.StatusCreated})
		resp, err := client.PostTask(context.Background(), salesforceTask())
		require.NoError(t, err)
		_, ok := srv.Task(resp.TaskID)
		assert.True(t, ok)
	})
}

func TestTaskPartMayNotReplaceTheRecordID(t *testing.T) {
	t.Parallel()
	r := &dynamo.TaskRequest{Parts: []dynamo.Part{{Name: "id", Value: "other"}}}
	var ve *dynamo.ValidationError
	require.ErrorAs(t, r.Validate(), &ve)
	require.Len(t, ve.Problems, 1)
	assert.Equal(t, "parts[0].name", ve.Problems[0].Field)
}
