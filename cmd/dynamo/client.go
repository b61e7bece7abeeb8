package main

import (
	"fmt"
	"log/slog"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// client returns a client for the API, with credentials from the environment,
// or for a new in-process fake server with --fake.
func (a *app) client() (*dynamo.Client, error) {
	if a.apiClient != nil {
		return a.apiClient, nil
	}
	c, err := a.newClient()
	a.apiClient = c
	return c, err
}

func (a *app) newClient() (*dynamo.Client, error) {
	opts := []dynamo.Option{dynamo.WithUserAgent("dynamo-cli/" + dynamo.Version)}
	if a.verbose {
		opts = append(opts, dynamo.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if !a.fake {
		return a.clientFromEnv(opts)
	}
	if a.fakeServer == nil {
		a.fakeServer = dynamotest.NewServer(
			dynamotest.WithAutoComplete(a.fakeDelay),
			dynamotest.WithResultFiles("Document"),
		)
		fmt.Fprintf(a.stderr, "dynamo: --fake: using an in-process fake server at %s; nothing leaves this machine\n", a.fakeServer.URL)
	}
	opts = append(opts, dynamo.WithBaseURL(a.fakeServer.URL))
	return dynamo.NewClient(a.fakeServer.TenantID, a.fakeServer.APIKey, opts...)
}

// clientFromEnv is dynamo.NewClientFromEnv reading through a.env, so that
// tests need not touch the process environment.
func (a *app) clientFromEnv(opts []dynamo.Option) (*dynamo.Client, error) {
	tenant, key := a.env(dynamo.EnvTenantID), a.env(dynamo.EnvAPIKey)
	if tenant == "" || key == "" {
		return nil, usageErrorf("no credentials: set %s and %s in the environment (they are never taken from flags), or try the tool with --fake",
			dynamo.EnvTenantID, dynamo.EnvAPIKey)
	}
	if u := a.env(dynamo.EnvBaseURL); u != "" {
		opts = append([]dynamo.Option{dynamo.WithBaseURL(u)}, opts...)
	}
	c, err := dynamo.NewClient(tenant, key, opts...)
	if err != nil {
		return nil, usageErrorf("%v (check %s, %s and %s)", err, dynamo.EnvTenantID, dynamo.EnvAPIKey, dynamo.EnvBaseURL)
	}
	return c, nil
}

// pollOptions are the wait options of the poll interval flag, the maximum
// scaled like the SDK's defaults; the caller adds its progress option.
func (a *app) pollOptions(progress dynamo.WaitOption) []dynamo.WaitOption {
	maxInterval := a.pollInterval * (dynamo.DefaultMaxPollInterval / dynamo.DefaultPollInterval)
	return []dynamo.WaitOption{
		dynamo.WithPollInterval(a.pollInterval),
		dynamo.WithMaxPollInterval(maxInterval),
		progress,
	}
}
