package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Option configures a Source. An option returns an error naming itself for
// a value it cannot use; a nil Option is skipped.
type Option func(*options) error

type options struct {
	maxAge      time.Duration
	httpClient  *http.Client
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	maxAttempts int
	retryWait   time.Duration // the first wait between two attempts, doubled after each
	retryMax    time.Duration // the longest wait
	cliTimeout  time.Duration // how long one run of sf may take
}

func defaultOptions() options {
	return options{
		maxAge:      10 * time.Minute,
		now:         time.Now,
		sleep:       sleepContext,
		maxAttempts: 4,
		retryWait:   500 * time.Millisecond,
		retryMax:    8 * time.Second,
		cliTimeout:  2 * time.Minute,
	}
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, fmt.Errorf("salesforce: %w", err)
		}
	}
	return o, nil
}

// WithMaxAge sets how long a session is used before a new one is minted:
// 10 minutes unless set. Salesforce's token answers say nothing of when a
// session expires, and a session ends after an inactivity timeout of 15
// minutes to 24 hours (2 hours by default) that an org's admin sets: keep
// the maximum age below that timeout. A fixed session (DYNAMO_SF_SESSION_ID)
// has no age and is not renewed.
func WithMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return configErr(fmt.Errorf("WithMaxAge: %v is not a positive duration", d))
		}
		o.maxAge = d
		return nil
	}
}

// WithHTTPClient sets the client through which the token endpoint is asked
// for sessions: the caller's transport, proxies, TLS settings and tracing.
// Without it, a client whose requests time out after 30 seconds is used.
// The client is copied, not changed; its redirect policy is replaced by
// one that follows no redirect, so that a credential is never sent on to
// another address.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return configErr(errors.New("WithHTTPClient: nil *http.Client"))
		}
		c := *hc
		o.httpClient = &c
		return nil
	}
}

// defaultTimeout bounds a token request made without WithHTTPClient.
const defaultTimeout = 30 * time.Second

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
