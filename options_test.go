package dynamo_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
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
