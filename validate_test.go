package dynamo_test

import (
	"context"
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
