package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// client returns a client for the API, with credentials from the environment;
// with --fake, for the running "dynamo fake" that DYNAMO_FAKE_URL names, or
// else for a new in-process fake server.
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
	if u := a.env(envFakeURL); u != "" {
		return a.runningFakeClient(u, opts)
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

// The SDK's polling defaults: a first wait of 1 s, growing to 15 s.
const (
	defaultPollInterval = time.Second
	maxPollIntervals    = 15 // the longest wait, in first waits
)

// pollOptions are the poll options of the poll interval flag, the maximum
// scaled like the SDK's defaults.
func (a *app) pollOptions() (first, most dynamo.PollOption) {
	return dynamo.WithPollInterval(a.pollInterval), dynamo.WithMaxPollInterval(a.pollInterval * maxPollIntervals)
}

// waitBatchOptions are WaitBatch's options: the poll options and progress.
func (a *app) waitBatchOptions(progress dynamo.WaitBatchOption) []dynamo.WaitBatchOption {
	first, most := a.pollOptions()
	return []dynamo.WaitBatchOption{first, most, progress}
}

// waitTaskOptions are WaitTask's options: the poll options and progress.
func (a *app) waitTaskOptions(progress dynamo.WaitTaskOption) []dynamo.WaitTaskOption {
	first, most := a.pollOptions()
	return []dynamo.WaitTaskOption{first, most, progress}
}

// runningFakeClient returns a client for the "dynamo fake" at u, with the
// credentials it printed. It first asks the control API whether a fake
// answers there, so that --fake never sends anything to a host that is not
// one.
func (a *app) runningFakeClient(u string, opts []dynamo.Option) (*dynamo.Client, error) {
	if err := probeFake(u); err != nil {
		return nil, fmt.Errorf("--fake: %s=%s: %v; start 'dynamo fake' and export what it prints, or unset %s for an in-process fake",
			envFakeURL, u, err, envFakeURL)
	}
	tenant, key := a.env(dynamo.EnvTenantID), a.env(dynamo.EnvAPIKey)
	if tenant == "" || key == "" {
		return nil, usageErrorf("--fake: %s is set but %s or %s is not: export every line that 'dynamo fake' printed",
			envFakeURL, dynamo.EnvTenantID, dynamo.EnvAPIKey)
	}
	c, err := dynamo.NewClient(tenant, key, append([]dynamo.Option{dynamo.WithBaseURL(u)}, opts...)...)
	if err != nil {
		return nil, usageErrorf("--fake: %v (check %s)", err, envFakeURL)
	}
	fmt.Fprintf(a.stderr, "dynamo: --fake: using the dynamo fake at %s\n", u)
	return c, nil
}

// probeFake reports whether the control API of a dynamo fake answers at u.
func probeFake(u string) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(strings.TrimSuffix(u, "/") + strings.TrimSuffix(dynamotest.ControlPrefix, "/") + "/clock")
	if err != nil {
		return errors.New("no dynamo fake answers there")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server there is not a dynamo fake (%s)", resp.Status)
	}
	return nil
}
