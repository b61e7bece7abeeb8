package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

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
