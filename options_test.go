package dynamo_test

import (
	"context"
	"errors"
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

func TestConfigErrorsSayTheCallAndTheOption(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		newClient    func() error
		call, option string
		says         string
	}{
		{name: "empty tenant", newClient: func() error { _, err := dynamo.NewClient("", "k"); return err },
			call: "NewClient", option: "tenantID", says: "dynamo: NewClient: tenantID: empty"},
		{name: "empty key", newClient: func() error { _, err := dynamo.NewClient("t", ""); return err },
			call: "NewClient", option: "apiKey", says: "dynamo: NewClient: apiKey: empty"},
		{name: "option", newClient: func() error { _, err := dynamo.NewClient("t", "k", dynamo.WithMaxRetries(-1)); return err },
			call: "NewClient", option: "WithMaxRetries", says: "dynamo: NewClient: WithMaxRetries: negative count -1"},
		{name: "env tenant", env: map[string]string{dynamo.EnvAPIKey: "k"},
			call: "NewClientFromEnv", option: dynamo.EnvTenantID, says: "not set; set it to the tenant ID"},
		{name: "env key", env: map[string]string{dynamo.EnvTenantID: "t"},
			call: "NewClientFromEnv", option: dynamo.EnvAPIKey, says: "not set; set it to the tenant's API key"},
		{name: "env base URL", env: map[string]string{dynamo.EnvTenantID: "t", dynamo.EnvAPIKey: "k", dynamo.EnvBaseURL: "https://h.example.com/v1"},
			call: "NewClientFromEnv", option: dynamo.EnvBaseURL, says: `give the host only: "https://h.example.com"`},
		{name: "env option", env: map[string]string{dynamo.EnvTenantID: "t", dynamo.EnvAPIKey: "k"},
			newClient: func() error { _, err := dynamo.NewClientFromEnv(dynamo.WithHTTPClient(nil)); return err },
			call:      "NewClientFromEnv", option: "WithHTTPClient", says: "nil *http.Client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{dynamo.EnvTenantID, dynamo.EnvAPIKey, dynamo.EnvBaseURL} {
				t.Setenv(name, tc.env[name])
			}
			newClient := tc.newClient
			if newClient == nil {
				newClient = func() error { _, err := dynamo.NewClientFromEnv(); return err }
			}
			err := newClient()
			require.ErrorIs(t, err, dynamo.ErrInvalidConfig)
			var ce *dynamo.ConfigError
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, tc.call, ce.Call)
			assert.Equal(t, tc.option, ce.Option)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

func TestWithBaseURLTakesTheHostOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, hostOnly string // hostOnly is empty for a URL accepted as it is
	}{
		{"https://dynamo-api.documill.com/v1", "https://dynamo-api.documill.com"},
		{"https://dynamo-api.documill.com/v1/", "https://dynamo-api.documill.com"},
		{"https://dynamo-api.documill.com/v2", "https://dynamo-api.documill.com"},
		{"http://127.0.0.1:8080/proxy/v1", "http://127.0.0.1:8080/proxy"},
		{"https://dynamo-api.documill.com", ""},
		{"https://dynamo-api.documill.com/", ""},
		{"http://127.0.0.1:8080/proxy", ""},
		{"http://127.0.0.1:8080/v1x", ""},
		{"http://127.0.0.1:8080/v", ""},
	} {
		c, err := dynamo.NewClient("t", "k", dynamo.WithBaseURL(tc.url))
		if tc.hostOnly == "" {
			assert.NoError(t, err, tc.url)
			continue
		}
		assert.Nil(t, c, tc.url)
		assert.ErrorIs(t, err, dynamo.ErrInvalidConfig, tc.url)
		assert.ErrorContains(t, err, "dynamo: NewClient: WithBaseURL: ", tc.url)
		assert.ErrorContains(t, err, `give the host only: "`+tc.hostOnly+`"`, tc.url)
	}
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
	// Each call is given an option after its nils, and it must apply: a nil
	// that ended the options would pass unseen as the last.
	progress := 0
	_, err = client.WaitBatch(context.Background(), resp.ID, nil, dynamo.PollOption(nil),
		dynamo.WithBatchProgress(func(*dynamo.BatchStatus) { progress++ }))
	require.NoError(t, err)
	assert.Positive(t, progress, "the option after the nils applies")
	for _, err := range client.BatchTaskStatuses(context.Background(), resp.ID, nil) {
		require.NoError(t, err)
	}
	rep, err := client.PostBulk(context.Background(), salesforceBatch(2), nil, dynamo.WithChunkSize(1))
	require.NoError(t, err)
	assert.Len(t, rep.Chunks, 2, "the option after the nil applies")
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
		assert.ErrorIs(t, err, dynamo.ErrInvalidConfig, tc.name)
		var ce *dynamo.ConfigError
		if assert.ErrorAs(t, err, &ce, tc.name) {
			assert.Equal(t, tc.name, ce.Option)
		}
		assert.Equal(t, 1, strings.Count(err.Error(), "dynamo: "), "one prefix: %v", err)
	}
	assert.Zero(t, requests, "nothing is sent")
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
