package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() *dynamo.Batch { return &dynamo.Batch{Template: "tmpl", Tasks: records(2)} }
	embedded := func() *dynamo.Batch {
		b := valid()
		b.Template = ""
		b.Parts = []dynamo.Part{{Name: "extra", Value: map[string]int{"a": 1}}}
		b.Tasks[0].PartParams = []dynamo.PartParam{{PartName: "extra", ParamName: "x"}}
		return b
	}
	cases := []struct {
		name   string
		batch  func() *dynamo.Batch
		field  string // "" for a valid batch
		substr string
	}{
		{"valid by reference", valid, "", ""},
		{"valid embedded", embedded, "", ""},
		{"no tasks", func() *dynamo.Batch { b := valid(); b.Tasks = nil; return b }, "tasks", "at least one"},
		{"too many tasks", func() *dynamo.Batch { b := valid(); b.Tasks = records(1001); return b }, "tasks", "1001"},
		{"id missing", func() *dynamo.Batch { b := valid(); delete(b.Tasks[1].Params, "id"); return b }, "tasks[1].params.id", "required"},
		{"nil params", func() *dynamo.Batch { b := valid(); b.Tasks[1].Params = nil; return b }, "tasks[1].params.id", "required"},
		{"id empty", func() *dynamo.Batch { b := valid(); b.Tasks[0].Params["id"] = ""; return b }, "tasks[0].params.id", "empty"},
		{"id not a string", func() *dynamo.Batch { b := valid(); b.Tasks[0].Params["id"] = 42; return b }, "tasks[0].params.id", "string"},
		{"channel param", func() *dynamo.Batch { b := valid(); b.Tasks[1].Params["ch"] = make(chan int); return b }, "tasks[1].params.ch", "JSON"},
		{"func param", func() *dynamo.Batch { b := valid(); b.Tasks[1].Params["f"] = func() {}; return b }, "tasks[1].params.f", "JSON"},
		{"NaN param", func() *dynamo.Batch { b := valid(); b.Tasks[0].Params["n"] = math.NaN(); return b }, "tasks[0].params.n", "JSON"},
		{"partParams by reference", func() *dynamo.Batch {
			b := valid()
			b.Tasks[0].PartParams = []dynamo.PartParam{{PartName: "p", ParamName: "q"}}
			return b
		}, "tasks[0].partParams", "embedded"},
		{"parts by reference", func() *dynamo.Batch { b := valid(); b.Parts = []dynamo.Part{{Name: "p", Value: 1}}; return b }, "parts", "embedded"},
		{"partParams naming a missing part", func() *dynamo.Batch {
			b := embedded()
			b.Tasks[1].PartParams = []dynamo.PartParam{{PartName: "nope", ParamName: "x"}}
			return b
		}, "tasks[1].partParams[0].partName", `"nope"`},
		{"partParams without paramName", func() *dynamo.Batch { b := embedded(); b.Tasks[0].PartParams[0].ParamName = ""; return b }, "tasks[0].partParams[0].paramName", "required"},
		{"bad part name", func() *dynamo.Batch {
			b := embedded()
			b.Parts = append(b.Parts, dynamo.Part{Name: "a b", Value: 1})
			return b
		}, "parts[1].name", "[A-Za-z0-9._-]+"},
		{"part name with newline", func() *dynamo.Batch {
			b := embedded()
			b.Parts = append(b.Parts, dynamo.Part{Name: "x\r\nEvil: 1", Value: 1})
			return b
		}, "parts[1].name", "must match"},
		{"duplicate part name", func() *dynamo.Batch { b := embedded(); b.Parts = append(b.Parts, b.Parts[0]); return b }, "parts[1].name", "earlier"},
		{"unencodable part", func() *dynamo.Batch { b := embedded(); b.Parts[0].Value = make(chan int); return b }, "parts[0].value", "JSON"},
		{"integration without session", func() *dynamo.Batch {
			b := valid()
			b.Integration = dynamo.Salesforce("", "x.salesforce.com")
			return b
		}, "integration.sessionID", "required"},
		{"integration without server", func() *dynamo.Batch { b := valid(); b.Integration = dynamo.Salesforce("s", ""); return b }, "integration.serverURL", "required"},
		{"integration of another type", func() *dynamo.Batch {
			b := valid()
			b.Integration = &dynamo.Integration{Type: "Other", SessionID: "s", ServerURL: "u"}
			return b
		}, "integration.type", "Salesforce"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.batch().Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *dynamo.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", ve.Problems)
			assert.Equal(t, tc.field, ve.Problems[0].Field)
			assert.Contains(t, ve.Problems[0].Message, tc.substr)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	b := &dynamo.Batch{
		Template: "tmpl",
		Tasks: []dynamo.Task{
			{Params: dynamo.Params{"id": "ok"}},
			{Params: dynamo.Params{"locale": "fi-FI"}},
			{Params: dynamo.Params{"id": "x", "bad": math.Inf(1)}, PartParams: []dynamo.PartParam{{PartName: "p", ParamName: "q"}}},
		},
		Integration: dynamo.Salesforce("", ""),
		Parts:       []dynamo.Part{{Name: "p", Value: 1}},
	}
	var ve *dynamo.ValidationError
	require.ErrorAs(t, b.Validate(), &ve)
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	assert.ElementsMatch(t, []string{
		"parts", "tasks[1].params.id", "tasks[2].params.bad", "tasks[2].partParams",
		"integration.sessionID", "integration.serverURL",
	}, fields)
	assert.Contains(t, ve.Error(), "(6 problems)")
	assert.False(t, errors.Is(ve, dynamo.ErrTooManyTasks))
}

func TestPostBatchSendsDocumentedJSON(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()

	batch, err := dynamo.NewBatch("3242374783").
		WithIntegration(dynamo.Salesforce("SESSION", "xxx.salesforce.com")).
		AddTask(dynamo.NewTask("1111"), dynamo.NewTask("2222").Param("locale", "fi-FI")).
		Build()
	require.NoError(t, err)
	resp, err := client.PostBatch(context.Background(), batch)
	require.NoError(t, err)

	assert.Regexp(t, `^[0-9a-f]{32}$`, resp.ID)
	assert.Len(t, resp.TaskIDs, 2)
	assert.Equal(t, "Success", resp.Message)
	assert.Equal(t, 2, resp.LicenseUsage)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/v1/batch", r.Path)
	assert.Equal(t, srv.TenantID, r.Header.Get("x-dynamo-tenant-id"))
	assert.True(t, r.HasAPIKey)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Regexp(t, `^dynamo-go/\S+ \(go`, r.Header.Get("User-Agent"))
	assert.Equal(t, r.ContentLength, r.BytesRead)
	assert.JSONEq(t, `{
		"template": "3242374783",
		"tasks": [{"params": {"id": "1111"}}, {"params": {"id": "2222", "locale": "fi-FI"}}],
		"integration": {"type": "Salesforce", "sessionID": "SESSION", "serverURL": "xxx.salesforce.com"}
	}`, string(r.JSON))
}

func TestPostBatchLimits(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()
	ctx := context.Background()

	resp, err := client.PostBatch(ctx, &dynamo.Batch{Template: "t", Tasks: records(dynamo.MaxTasksPerBatch)})
	require.NoError(t, err)
	assert.Len(t, resp.TaskIDs, 1000)
	assert.Equal(t, 1000, resp.LicenseUsage)

	_, err = client.PostBatch(ctx, &dynamo.Batch{Template: "t", Tasks: records(dynamo.MaxTasksPerBatch + 1)})
	require.ErrorIs(t, err, dynamo.ErrTooManyTasks)
	var ve *dynamo.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, srv.Requests(), 1, "the refused batch must not reach the server")
}

func TestPostBatchRefusesInvalidBatchWithoutRequest(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	for _, b := range []*dynamo.Batch{
		nil,
		{Tasks: records(1)}, // no template
		{Template: "t", Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "1", "c": make(chan int)}}}},
	} {
		_, err := srv.Client().PostBatch(context.Background(), b)
		var ve *dynamo.ValidationError
		require.ErrorAs(t, err, &ve)
	}
	assert.Empty(t, srv.Requests())
}

func TestBuilderCopies(t *testing.T) {
	t.Parallel()
	tb := dynamo.NewTask("1").Param("a", 1)
	first := tb.Task()
	tb.Param("a", 2).PartParam("p", "q")
	assert.Equal(t, 1, first.Params["a"], "a built task must not change with its builder")
	assert.Empty(t, first.PartParams)

	bb := dynamo.NewBatch("t").AddTask(dynamo.NewTask("1"))
	b1, err := bb.Build()
	require.NoError(t, err)
	bb.AddTask(dynamo.NewTask("2"))
	b2, err := bb.Build()
	require.NoError(t, err)
	assert.Len(t, b1.Tasks, 1)
	assert.Len(t, b2.Tasks, 2)

	_, err = dynamo.NewBatch("t").Build()
	require.Error(t, err)
}

func TestTaskJSONShape(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(dynamo.Task{
		Params:     dynamo.Params{"id": "1111"},
		PartParams: []dynamo.PartParam{{PartName: "additionalData", ParamName: "extra"}},
	})
	require.NoError(t, err)
	assert.JSONEq(t, `{"params":{"id":"1111"},"partParams":[{"partName":"additionalData","paramName":"extra"}]}`, string(data))
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

func TestPostBatchBadRequestIsAPIError(t *testing.T) {
	t.Parallel()
	c, seen := serveOnce(t, 400, `{"message": "tasks[0].params.id is required"}`)
	_, err := c.PostBatch(context.Background(), &dynamo.Batch{Template: "t", Tasks: records(1)})
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, "tasks[0].params.id is required", apiErr.Message)
	assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a 400 is a definite refusal")
	assert.Equal(t, []string{"POST /v1/batch"}, *seen)
}
