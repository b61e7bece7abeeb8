package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// signedQuery is the query of a signed result URL: a credential to the file.
const signedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFAKE%2F20260131&X-Amz-Expires=3600&X-Amz-Signature=" + testSignature

// assertNoSignature fails the test when text holds any piece of a signed
// query.
func assertNoSignature(t *testing.T, what, text string) {
	t.Helper()
	for _, piece := range []string{"X-Amz-Signature", testSignature[:12], "AKIAFAKE", "X-Amz-Credential"} {
		if strings.Contains(text, piece) {
			t.Errorf("%s shows the result URL's signed query (%q)", what, piece)
		}
	}
}

func TestResultURLQueryNeverShown(t *testing.T) {
	t.Parallel()
	t.Run("storage host refuses the connection", func(t *testing.T) {
		client, _, logs := setup(t, dynamo.WithMaxRetries(1))
		r := dynamo.Result{ID: "Quote", URL: "http://" + closedAddr(t) + "/files/quote.pdf?" + signedQuery}
		_, err := client.DownloadResult(context.Background(), r, io.Discard)
		require.Error(t, err)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			assertNoSignature(t, "error printed with "+verb, fmt.Sprintf(verb, err))
		}
		for i, e := range errorChain(err) {
			assertNoSignature(t, fmt.Sprintf("wrapped error %d (%T)", i, e), e.Error())
		}
		assert.Contains(t, err.Error(), "/files/quote.pdf", "the host and path are shown")
		assertNoSignature(t, "log", logs.Text())
		assert.NotEmpty(t, logs.Records(logFailed), "the failure is logged, without the query")
	})
	t.Run("storage host answers 403", func(t *testing.T) {
		storage := http.NewServeMux()
		storage.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestURL>`+r.URL.String()+`</RequestURL></Error>`)
		})
		srv := newHTTPServer(t, storage)
		client, _, logs := setup(t)
		_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "Quote", URL: srv.URL + "/files/quote.pdf?" + signedQuery}, io.Discard)
		var apiErr *dynamo.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
		assert.Equal(t, strings.TrimPrefix(srv.URL, "http://")+"/files/quote.pdf", apiErr.Path, "host and path, as documented")
		assert.ErrorIs(t, err, dynamo.ErrUnauthorized)
		assertNoSignature(t, "error", fmt.Sprintf("%+v", err))
		assertNoSignature(t, "APIError.Body, where the storage host echoed the URL", string(apiErr.Body))
		assertNoSignature(t, "APIError.Message", apiErr.Message)
		assertNoSignature(t, "log", logs.Text())
	})
	t.Run("a Result printed or logged", func(t *testing.T) {
		r := dynamo.Result{ID: "Quote", URL: "https://bucket.example.com/files/quote.pdf?" + signedQuery}
		st := dynamo.TaskStatus{TaskID: "t-1", ResultList: []dynamo.Result{r}}
		for _, v := range []any{r, &r, st, &st, []dynamo.Result{r}} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				text := fmt.Sprintf(verb, v)
				assertNoSignature(t, fmt.Sprintf("%T printed with %s", v, verb), text)
				assert.Contains(t, text, "bucket.example.com/files/quote.pdf")
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("result", "r", r)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("result", "r", r)
		assertNoSignature(t, "a Result logged", buf.String())
		data, err := json.Marshal(r)
		require.NoError(t, err)
		assert.Contains(t, string(data), "X-Amz-Signature", "JSON keeps the URL whole: it is how the URL is handed on")
	})
}

func TestNilOptionsAreSkipped(t *testing.T) {
	t.Parallel()
	srv, _, _ := newFake(t)
	client, err := dynamo.NewClient(testTenantID, testAPIKey, nil, dynamo.WithBaseURL(srv.URL), nil)
	require.NoError(t, err, "a nil Option is skipped, as everywhere")
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.PostBatch(context.Background(), salesforceBatch(1))
	require.NoError(t, err)
	srv.CompleteBatch(resp.ID)
	_, err = client.WaitBatch(context.Background(), resp.ID, nil, dynamo.PollOption(nil))
	require.NoError(t, err)
	for _, err := range client.BatchTaskStatuses(context.Background(), resp.ID, nil) {
		require.NoError(t, err)
	}
	_, err = client.PostBulk(context.Background(), salesforceBatch(2), nil)
	require.NoError(t, err)
}

func TestInvalidOptionsNameTheOption(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var requests int
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { requests++ })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"WithMaxRetries", func() error { _, err := dynamo.NewClient("t", "k", dynamo.WithMaxRetries(-1)); return err }},
		{"WithRetryWait", func() error {
			_, err := dynamo.NewClient("t", "k", dynamo.WithRetryWait(time.Second, time.Millisecond))
			return err
		}},
		{"WithHTTPClient", func() error { _, err := dynamo.NewClient("t", "k", dynamo.WithHTTPClient(nil)); return err }},
		{"WithPollInterval", func() error { _, err := client.WaitBatch(ctx, "b", dynamo.WithPollInterval(0)); return err }},
		{"WithMaxPollInterval", func() error {
			_, err := client.WaitBatch(ctx, "b", dynamo.WithPollInterval(time.Second), dynamo.WithMaxPollInterval(time.Millisecond))
			return err
		}},
		{"WithBatchProgress", func() error { _, err := client.WaitBatch(ctx, "b", dynamo.WithBatchProgress(nil)); return err }},
		{"WithTaskProgress", func() error { _, err := client.WaitTask(ctx, "t", dynamo.WithTaskProgress(nil)); return err }},
		{"WithPollInterval", func() error { _, err := client.WaitTask(ctx, "t", dynamo.WithPollInterval(-1)); return err }},
		{"WithStatusConcurrency", func() error {
			for _, err := range client.BatchTaskStatuses(ctx, "b", dynamo.WithStatusConcurrency(0)) {
				return err
			}
			return nil
		}},
		{"WithChunkSize", func() error {
			_, err := client.PostBulk(ctx, salesforceBatch(1), dynamo.WithChunkSize(1001))
			return err
		}},
		{"WithBulkConcurrency", func() error {
			_, err := client.PostBulk(ctx, salesforceBatch(1), dynamo.WithBulkConcurrency(0))
			return err
		}},
		{"WithJournal", func() error { _, err := client.PostBulk(ctx, salesforceBatch(1), dynamo.WithJournal("")); return err }},
		{"WithChunkDone", func() error {
			_, err := client.PostBulk(ctx, salesforceBatch(1), dynamo.WithChunkDone(nil))
			return err
		}},
		{"WithStop", func() error { _, err := client.PostBulk(ctx, salesforceBatch(1), dynamo.WithStop(nil)); return err }},
	} {
		err := tc.call()
		assert.ErrorContains(t, err, tc.name, "the error names the option")
	}
	assert.Zero(t, requests, "nothing is sent")
}

func TestPartProblemsNameThePart(t *testing.T) {
	t.Parallel()
	dap := dynamo.TemplateFromBytes("t.dap", []byte("DAP"))
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"nil stream", (*dynamo.JSONStream)(nil)},
		{"stream of negative size", dynamo.JSONStreamFromOpener(-2, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, mux, _ := setup(t)
			var posts int
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { posts++ })
			b := embeddedSalesforceBatch(1)
			b.Parts = []dynamo.Part{{Name: "ok", Value: 1}, {Name: "big", Value: tc.value}}
			_, err := client.PostBatchWithTemplate(context.Background(), dap, b)
			var ve *dynamo.ValidationError
			require.ErrorAs(t, err, &ve, "a *ValidationError, not a panic")
			require.Len(t, ve.Problems, 1)
			assert.Equal(t, "parts[1].value", ve.Problems[0].Field)
			assert.Zero(t, posts)
		})
	}
}

func TestPartParamMayNotReplaceTheRecordID(t *testing.T) {
	t.Parallel()
	b, err := dynamo.NewBatch("").
		AddPart("record", map[string]string{"id": "other"}).
		AddTask(dynamo.NewTask("001").PartParam("record", "id")).
		Build()
	assert.Nil(t, b)
	var ve *dynamo.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1)
	assert.Equal(t, "tasks[0].partParams[0].paramName", ve.Problems[0].Field)
}

func TestTimestampSaysWhatItHolds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		print      string
	}{
		{"placeholder", `"datetime"`, "datetime"},
		{"three digits", `"2022-02-10T11:03:30.100Z"`, "2022-02-10T11:03:30.100Z"},
		{"six digits", `"2022-02-10T11:03:39.616069Z"`, "2022-02-10T11:03:39.616069Z"},
		{"nine digits", `"2023-03-07T10:26:35.405631389Z"`, "2023-03-07T10:26:35.405631389Z"},
		{"offset", `"2022-02-10T13:03:30+02:00"`, "2022-02-10T13:03:30+02:00"},
		{"absent", `null`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts dynamo.Timestamp
			require.NoError(t, json.Unmarshal([]byte(tc.json), &ts))
			assert.Equal(t, tc.print, fmt.Sprint(ts))
			assert.Equal(t, tc.print, fmt.Sprintf("%+v", ts))
			assert.NotContains(t, fmt.Sprintf("%v", ts), "0001-01-01", "a date it does not have")
			data, err := json.Marshal(ts)
			require.NoError(t, err)
			assert.JSONEq(t, tc.json, string(data), "JSON round-trips unchanged")
			text, err := ts.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.print, string(text))
		})
	}
	var st dynamo.BatchStatus
	require.NoError(t, json.Unmarshal([]byte(`{"postDateTime":"datetime","completedDateTime":"2022-02-10T11:03:39.616069Z"}`), &st))
	data, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"postDateTime":"datetime"`)
	assert.Contains(t, string(data), `"completedDateTime":"2022-02-10T11:03:39.616069Z"`)
	assert.False(t, st.CompletedDateTime.IsZero())
}

func TestBatchJSONRoundTripsOrFailsLoudly(t *testing.T) {
	t.Parallel()
	b, err := dynamo.NewBatch("").
		AddPart("rates", map[string]any{"EUR": 1.0}).
		AddTask(dynamo.NewTask("001").Param("n", 2.0).PartParam("rates", "fx")).
		Build()
	require.NoError(t, err)
	data, err := json.Marshal(b)
	require.NoError(t, err)
	var back dynamo.Batch
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, b, &back, "a batch without a session is stored and read back unchanged")

	_, err = json.Marshal(salesforceBatch(1))
	assert.ErrorIs(t, err, dynamo.ErrSessionNotEncoded, "a session is never written to JSON, nor silently dropped")
	withStream := embeddedSalesforceBatch(1)
	withStream.Integration = nil
	withStream.Parts = []dynamo.Part{{Name: "big", Value: dynamo.JSONStreamFromOpener(2, func() (io.ReadCloser, error) { return nil, nil })}}
	_, err = json.Marshal(withStream)
	assert.ErrorContains(t, err, "JSONStream", "a streamed part cannot be stored")

	// Decoding reads the API's form of an integration.
	var in dynamo.Integration
	require.NoError(t, json.Unmarshal([]byte(`{"type":"Salesforce","sessionID":"s","serverURL":"u"}`), &in))
	assert.Equal(t, dynamo.Integration{Type: "Salesforce", SessionID: "s", ServerURL: "u"}, in)
}

// resendProbe is a transport that asks for a post's body again, as net/http
// does to resend an attempt on its own, before and after the attempt went
// out.
type resendProbe struct {
	base          http.RoundTripper
	before, after []error
}

func (p *resendProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err == nil {
			body.Close()
		}
		p.before = append(p.before, err)
	}
	resp, err := p.base.RoundTrip(req)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err == nil {
			body.Close()
		}
		p.after = append(p.after, err)
	}
	return resp, err
}

func TestTransportMayNotResendAPostOnTheWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		post func(*dynamo.Client) error
	}{
		{"JSON", func(c *dynamo.Client) error {
			_, err := c.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}},
		{"multipart", func(c *dynamo.Client) error {
			_, err := c.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), embeddedSalesforceBatch(2))
			return err
		}},
		{"task", func(c *dynamo.Client) error { _, err := c.PostTask(context.Background(), salesforceTask()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			probe := &resendProbe{base: newTransport(t)}
			_, client, _ := newFake(t, dynamo.WithHTTPClient(&http.Client{Transport: probe}))
			require.NoError(t, tc.post(client))
			require.Len(t, probe.before, 1)
			assert.NoError(t, probe.before[0], "nothing of the attempt was sent yet: the transport may resend it")
			require.Len(t, probe.after, 1)
			assert.Error(t, probe.after[0], "the attempt went out: a resend the SDK did not judge is refused")
		})
	}
}

func TestRequestIDThatEchoesASecretIsDropped(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Dynamo-Api-Key"))
		http.Error(w, `{"message":"no"}`, http.StatusBadRequest)
	})
	_, err := client.GetBatchStatus(context.Background(), "b1")
	var apiErr *dynamo.APIError
	require.ErrorAs(t, failed(t, err), &apiErr)
	assert.Empty(t, apiErr.RequestID)
}

func TestTemplateProblemsAreFoundBeforeTheNetwork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		tmpl  dynamo.Template
		field string
	}{
		{"empty", dynamo.TemplateFromBytes("t.dap", nil), "template"},
		{"empty from an opener", dynamo.TemplateFromOpener("t.dap", 0, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }), "template"},
		{"reader at without a size", dynamo.TemplateFromReaderAt("t.dap", strings.NewReader("DAP"), -1), "template"},
		{"name not UTF-8", dynamo.TemplateFromBytes("caf\xe9.dap", []byte("DAP")), "template.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client, _ := newFake(t)
			_, err := client.PostBatchWithTemplate(context.Background(), tc.tmpl, embeddedSalesforceBatch(1))
			var ve *dynamo.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1)
			assert.Equal(t, tc.field, ve.Problems[0].Field)
			assert.Empty(t, srv.Requests(), "nothing is sent")
		})
	}
}

func TestTaskPartMayNotReplaceTheRecordID(t *testing.T) {
	t.Parallel()
	r := &dynamo.TaskRequest{Parts: []dynamo.Part{{Name: "id", Value: "other"}}}
	var ve *dynamo.ValidationError
	require.ErrorAs(t, r.Validate(), &ve)
	require.Len(t, ve.Problems, 1)
	assert.Equal(t, "parts[0].name", ve.Problems[0].Field)
}

func TestAnAnswerWithTheIDIsASuccessWhateverElseItHolds(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var posts int
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		posts++
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"b1","tasks":["t1","t2"],"message":"Success","licenseUsage":"2"}`)
	})
	resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
	require.NoError(t, err, "the batch exists: a field of another type does not make it unknown")
	assert.Equal(t, "b1", resp.ID)
	assert.Equal(t, []string{"t1", "t2"}, resp.TaskIDs)
	assert.Equal(t, 1, posts)
}

func TestRetryWaitWithoutBounds(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv, client, _ := newFake(t, dynamo.WithRetryWait(math.MaxInt64, math.MaxInt64), clock.option())
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	_, err := client.PostBatch(context.Background(), salesforceBatch(1))
	require.NoError(t, err, "the longest wait there is, on the fake clock, and no panic")
	assert.Len(t, clock.Waits(), 1)
}
