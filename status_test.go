package dynamo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// serveOnce answers every request with status and body, and records the
// request URIs it saw.
func serveOnce(t *testing.T, status int, body string) (*dynamo.Client, *[]string) {
	t.Helper()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.RequestURI)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := dynamo.NewClient("tenant", "0123456789abcdef0123456789abcdef", dynamo.WithBaseURL(srv.URL), dynamo.WithMaxRetries(0))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c, &seen
}

func TestGetBatchStatusDecodesDocumentedExample(t *testing.T) {
	t.Parallel()
	c, seen := serveOnce(t, 200, `{
		"postDateTime": "2022-02-10T11:03:30.100Z",
		"completed": true,
		"completedDateTime": "2022-02-10T11:03:39.616069Z",
		"errors": false,
		"statusMessage": "Completed",
		"tasks": [{"id": "334b2fc3-49cf-4089-a09b-f638fb1f97dc", "completed": true, "errors": false}],
		"somethingNew": {"ignored": true}
	}`)
	st, err := c.GetBatchStatus(context.Background(), "074608c2393f272d31870bd0e01f9652")
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /v1/batch/074608c2393f272d31870bd0e01f9652"}, *seen)
	assert.True(t, st.Completed)
	assert.False(t, st.Errors)
	assert.Equal(t, dynamo.BatchStatusCompleted, st.StatusMessage)
	assert.Equal(t, time.Date(2022, 2, 10, 11, 3, 30, 100e6, time.UTC), st.PostDateTime.Time.UTC())
	assert.Equal(t, time.Date(2022, 2, 10, 11, 3, 39, 616069e3, time.UTC), st.CompletedDateTime.Time.UTC())
	assert.Equal(t, "2022-02-10T11:03:39.616069Z", st.CompletedDateTime.Raw)
	assert.Equal(t, []dynamo.BatchTaskSummary{{ID: "334b2fc3-49cf-4089-a09b-f638fb1f97dc", Completed: true}}, st.Tasks)
}

func TestGetBatchStatusKeepsPlaceholderDate(t *testing.T) {
	t.Parallel()
	c, _ := serveOnce(t, 200, `{"postDateTime": "datetime", "completedDateTime": null, "completed": false, "statusMessage": "Waiting", "tasks": []}`)
	st, err := c.GetBatchStatus(context.Background(), "b")
	require.NoError(t, err)
	assert.True(t, st.PostDateTime.IsZero())
	assert.Equal(t, "datetime", st.PostDateTime.Raw)
	assert.Empty(t, st.CompletedDateTime.Raw)
	assert.Equal(t, dynamo.BatchStatusWaiting, st.StatusMessage)
}

func TestGetBatchTaskStatusDecodesDocumentedExample(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"log", "logs"} {
		t.Run(key, func(t *testing.T) {
			c, seen := serveOnce(t, 200, `{
				"startDateTime": "2022-02-10T11:03:36.498963Z",
				"endDateTime": "2022-02-10T11:03:39.616069Z",
				"completed": true, "errors": true, "statusMessage": "Completed",
				"`+key+`": ["SEVERE: missing field", {"level": "SEVERE"}],
				"results": ["Profile"],
				"resultList": [{"id": "Profile", "url": "https://storage.example/p?sig=1"}]
			}`)
			st, err := c.GetBatchTaskStatus(context.Background(), "a/b", "c d")
			require.NoError(t, err)
			assert.Equal(t, []string{"GET /v1/batch/a%2Fb/c%20d"}, *seen, "IDs are path-escaped")
			assert.True(t, st.Completed)
			assert.True(t, st.Errors)
			assert.Equal(t, []string{"SEVERE: missing field", `{"level": "SEVERE"}`}, st.Log)
			assert.Equal(t, []string{"Profile"}, st.Results)
			assert.Equal(t, []dynamo.Result{{ID: "Profile", URL: "https://storage.example/p?sig=1"}}, st.ResultList)
			assert.Equal(t, 2022, st.StartDateTime.Year())
		})
	}
}

func TestStatusErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status  int
		body    string
		target  error
		message string
	}{
		{401, `{"message": "Invalid API key"}`, dynamo.ErrUnauthorized, "Invalid API key"},
		{403, `{"message": "Forbidden tenant"}`, dynamo.ErrUnauthorized, "Forbidden tenant"},
		{404, `{"message": "Batch not found"}`, dynamo.ErrNotFound, "Batch not found"},
		{400, `{"message": "Bad batch id"}`, nil, "Bad batch id"},
		{500, `Internal failure, plain text`, nil, "Internal failure, plain text"},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			c, seen := serveOnce(t, tc.status, tc.body)
			_, err := c.GetBatchStatus(context.Background(), "b1")
			var apiErr *dynamo.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, http.MethodGet, apiErr.Method)
			assert.Equal(t, "/v1/batch/b1", apiErr.Path)
			assert.Equal(t, tc.message, apiErr.Message)
			assert.Equal(t, tc.body, string(apiErr.Body))
			assert.Len(t, *seen, 1, "WithMaxRetries(0) sends once")
			if tc.target != nil {
				assert.ErrorIs(t, err, tc.target)
			}
			for _, other := range []error{dynamo.ErrUnauthorized, dynamo.ErrNotFound, dynamo.ErrRateLimited, dynamo.ErrOutcomeUnknown} {
				if other != tc.target {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestStatusCallsRefuseEmptyIDs(t *testing.T) {
	t.Parallel()
	c, seen := serveOnce(t, 200, `{}`)
	_, err := c.GetBatchStatus(context.Background(), "")
	require.Error(t, err)
	_, err = c.GetBatchTaskStatus(context.Background(), "b", "")
	require.Error(t, err)
	assert.Empty(t, *seen)
}
