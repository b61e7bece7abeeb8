package dynamo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// embeddedBatch is a two-task batch for an embedded template, with two parts
// mapped into the first task under one param name (the later wins).
func embeddedBatch(t *testing.T) *dynamo.Batch {
	t.Helper()
	b, err := dynamo.NewBatch("").
		WithIntegration(dynamo.Salesforce("SESSION", "https://x.my.salesforce.com")).
		AddPart("additionalData", map[string]any{"data1": "abc", "data2": map[string]string{"data3": "xyz"}}).
		AddPart("override", []int{1, 2}).
		AddTask(
			dynamo.NewTask("1111").PartParam("additionalData", "extra").PartParam("override", "extra").PartParam("additionalData", "more"),
			dynamo.NewTask("2222").Param("locale", "fi-FI"),
		).Build()
	require.NoError(t, err)
	return b
}

func TestPostBatchWithTemplateWireForm(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	dap := bytes.Repeat([]byte("DAP--\r\n--boundary-like\r\n"), 1000)
	path := filepath.Join(t.TempDir(), "Report Template.dap")
	require.NoError(t, os.WriteFile(path, dap, 0o600))
	tmpl, err := dynamo.TemplateFromFile(path)
	require.NoError(t, err)
	assert.Equal(t, int64(len(dap)), tmpl.Size())

	resp, err := srv.Client().PostBatchWithTemplate(context.Background(), tmpl, embeddedBatch(t))
	require.NoError(t, err)
	assert.Len(t, resp.TaskIDs, 2)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data; boundary="))
	assert.False(t, r.Chunked, "every size is known: the length is declared")
	assert.Equal(t, r.ContentLength, r.BytesRead, "the declared length is what was sent")
	require.NotNil(t, r.Template)
	assert.Equal(t, "Report Template.dap", r.Template.FileName)
	assert.Equal(t, "application/octet-stream", r.Template.ContentType)
	assert.Equal(t, int64(len(dap)), r.Template.Size)
	assert.Equal(t, sha(dap), r.Template.SHA256)
	assert.JSONEq(t, `{
		"tasks": [
			{"params": {"id": "1111"}, "partParams": [
				{"partName": "additionalData", "paramName": "extra"},
				{"partName": "override", "paramName": "extra"},
				{"partName": "additionalData", "paramName": "more"}]},
			{"params": {"id": "2222", "locale": "fi-FI"}}],
		"integration": {"type": "Salesforce", "sessionID": "SESSION", "serverURL": "https://x.my.salesforce.com"}
	}`, string(r.JSON), "the data part has no template field")
	assert.JSONEq(t, `{"data1": "abc", "data2": {"data3": "xyz"}}`, string(r.Parts["additionalData"]))
	assert.JSONEq(t, `[1, 2]`, string(r.Parts["override"]))

	batch, ok := srv.Batch(resp.ID)
	require.True(t, ok)
	assert.Equal(t, []any{1.0, 2.0}, batch.Tasks[0].Params["extra"], "the later part wins")
	assert.Equal(t, map[string]any{"data1": "abc", "data2": map[string]any{"data3": "xyz"}}, batch.Tasks[0].Params["more"])
}

func TestPostBatchWithTemplateSources(t *testing.T) {
	t.Parallel()
	dap := []byte("PK\x03\x04 a small template")
	cases := []struct {
		name     string
		tmpl     dynamo.Template
		fileName string
		chunked  bool
	}{
		{"bytes", dynamo.TemplateFromBytes("dir/a.dap", dap), "a.dap", false},
		{"bytes without name", dynamo.TemplateFromBytes("", dap), "template.dap", false},
		{"quotes and backslashes", dynamo.TemplateFromBytes(`we"ird\name.dap`, dap), `we"ird\name.dap`, false},
		{"reader at", dynamo.TemplateFromReaderAt("r.dap", bytes.NewReader(dap), int64(len(dap))), "r.dap", false},
		{"opener", dynamo.TemplateFromOpener("o.dap", int64(len(dap)), func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(dap)), nil
		}), "o.dap", false},
		{"reader of unknown size", dynamo.TemplateFromReader("s.dap", bytes.NewReader(dap)), "s.dap", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := dynamotest.NewServer()
			t.Cleanup(srv.Close)
			_, err := srv.Client().PostBatchWithTemplate(context.Background(), tc.tmpl, &dynamo.Batch{Tasks: records(1)})
			require.NoError(t, err)
			r := srv.Requests()[0]
			assert.Equal(t, tc.fileName, r.Template.FileName)
			assert.Equal(t, sha(dap), r.Template.SHA256)
			assert.Equal(t, tc.chunked, r.Chunked)
			if !tc.chunked {
				assert.Equal(t, r.ContentLength, r.BytesRead)
			}
		})
	}
}

func TestPostBatchWithTemplateStreamsJSONPartFromFile(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"rows": [1, 2, 3]}`), 0o600))
	stream, err := dynamo.JSONStreamFromFile(path)
	require.NoError(t, err)
	b := &dynamo.Batch{
		Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "1"}, PartParams: []dynamo.PartParam{{PartName: "rows", ParamName: "data"}}}},
		Parts: []dynamo.Part{{Name: "rows", Value: stream}},
	}
	resp, err := srv.Client().PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("x")), b)
	require.NoError(t, err)
	r := srv.Requests()[0]
	assert.False(t, r.Chunked)
	assert.JSONEq(t, `{"rows": [1, 2, 3]}`, string(r.Parts["rows"]))
	batch, _ := srv.Batch(resp.ID)
	assert.Equal(t, map[string]any{"rows": []any{1.0, 2.0, 3.0}}, batch.Tasks[0].Params["data"])
}

func TestPostBatchWithTemplateValidatesBeforeNetwork(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()
	ctx := context.Background()
	dap := dynamo.TemplateFromBytes("t.dap", []byte("x"))

	cases := []struct {
		name  string
		tmpl  dynamo.Template
		batch *dynamo.Batch
		field string
	}{
		{"template reference and embedded", dap, &dynamo.Batch{Template: "t", Tasks: records(1)}, "template"},
		{"no template", dynamo.Template{}, &dynamo.Batch{Tasks: records(1)}, "template"},
		{"control character in file name", dynamo.TemplateFromBytes("a\r\nX-Evil: 1.dap", []byte("x")), &dynamo.Batch{Tasks: records(1)}, "template.name"},
		{"part not attached", dap, &dynamo.Batch{Tasks: []dynamo.Task{{
			Params: dynamo.Params{"id": "1"}, PartParams: []dynamo.PartParam{{PartName: "missing", ParamName: "p"}},
		}}}, "tasks[0].partParams[0].partName"},
		{"unencodable part", dap, &dynamo.Batch{Tasks: records(1), Parts: []dynamo.Part{{Name: "p", Value: func() {}}}}, "parts[0].value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.PostBatchWithTemplate(ctx, tc.tmpl, tc.batch)
			var ve *dynamo.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Problems[0].Field, "%v", ve)
		})
	}
	assert.Empty(t, srv.Requests())

	_, err := dynamo.TemplateFromFile(filepath.Join(t.TempDir(), "missing.dap"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = dynamo.TemplateFromFile(t.TempDir())
	assert.ErrorContains(t, err, "not a regular file")
}

func TestPostBatchWithTemplateRetryReopensTemplate(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
	dap := bytes.Repeat([]byte{0xAB}, 100_000)
	var opens atomic.Int32
	tmpl := dynamo.TemplateFromOpener("t.dap", int64(len(dap)), func() (io.ReadCloser, error) {
		opens.Add(1)
		return io.NopCloser(bytes.NewReader(dap)), nil
	})
	client := srv.Client(dynamo.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	resp, err := client.PostBatchWithTemplate(context.Background(), tmpl, &dynamo.Batch{Tasks: records(3)})
	require.NoError(t, err)

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].Header.Get("Content-Type"), reqs[1].Header.Get("Content-Type"), "one boundary per logical request")
	assert.Equal(t, reqs[0].ContentLength, reqs[1].ContentLength)
	assert.Equal(t, sha(dap), reqs[1].Template.SHA256)
	assert.Equal(t, int32(2), opens.Load(), "the template is opened once per attempt that sends it")
	assert.Len(t, srv.Batches(), 1)
	assert.Equal(t, srv.Batches()[0].ID, resp.ID)
}

func TestPostBatchWithTemplateFromReaderIsNotResent(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var posts atomic.Int32
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		refuseOnceRead(http.StatusServiceUnavailable)(w, r)
	})
	_, err := client.PostBatchWithTemplate(context.Background(),
		dynamo.TemplateFromReader("t.dap", strings.NewReader("template bytes")), &dynamo.Batch{Tasks: records(1)})
	require.ErrorIs(t, err, dynamo.ErrNotReplayable)
	var apiErr *dynamo.APIError
	require.ErrorAs(t, err, &apiErr, "the server's answer is kept")
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.EqualValues(t, 1, posts.Load())
}

func TestPostBatchWithTemplateSourceFailure(t *testing.T) {
	t.Parallel()
	srv := dynamotest.NewServer()
	t.Cleanup(srv.Close)
	diskGone := errors.New("disk gone")
	tmpl := dynamo.TemplateFromOpener("t.dap", 1<<20, func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotestErrReader{diskGone})), nil
	})
	_, err := srv.Client(dynamo.WithRetryWait(time.Millisecond, 10*time.Millisecond)).
		PostBatchWithTemplate(context.Background(), tmpl, &dynamo.Batch{Tasks: records(1)})
	require.ErrorIs(t, err, diskGone)
	assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "a body cut short cannot have created a batch")
	assert.LessOrEqual(t, len(srv.Requests()), 1, "a failing source is not retried")
	assert.Empty(t, srv.Batches())
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestLargeUploadAsksBeforeSendingTheBody(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), 2<<20)
	t.Run("a refusal costs no upload", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusRequestEntityTooLarge})
		var opened atomic.Int32
		tmpl := dynamo.TemplateFromOpener("big.dap", int64(len(big)), func() (io.ReadCloser, error) {
			opened.Add(1)
			return io.NopCloser(bytes.NewReader(big)), nil
		})
		_, err := client.PostBatchWithTemplate(context.Background(), tmpl, embeddedSalesforceBatch(1))
		var apiErr *dynamo.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusRequestEntityTooLarge, apiErr.StatusCode)
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "100-continue", reqs[0].Header.Get("Expect"))
		assert.Zero(t, opened.Load(), "the server refused before the body: the template was never opened")
	})
	t.Run("a single-use template refused unread is retried", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: http.StatusServiceUnavailable})
		_, err := client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromReader("big.dap", bytes.NewReader(big)), embeddedSalesforceBatch(1))
		require.NoError(t, err, "nothing was read of the reader, so it can still be sent")
		reqs := srv.Requests()
		require.Len(t, reqs, 2)
		require.NotNil(t, reqs[1].Template)
		assert.Equal(t, sha(big), reqs[1].Template.SHA256)
	})
	t.Run("a small body is sent at once", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		_, err := client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("small.dap", []byte("DAP")), embeddedSalesforceBatch(1))
		require.NoError(t, err)
		assert.Empty(t, srv.Requests()[0].Header.Get("Expect"))
	})
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
