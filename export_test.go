package dynamo

import (
	"context"
	"time"
)

// WithClock replaces the client's clock in tests: sleep takes the place of
// every wait (retry backoff, Retry-After, WaitBatch's polls), now of the time
// a Retry-After date is read against.
func WithClock(sleep func(context.Context, time.Duration) error, now func() time.Time) Option {
	return func(c *config) error {
		if sleep != nil {
			c.sleep = sleep
		}
		if now != nil {
			c.now = now
		}
		return nil
	}
}

// WithRealClock gives back the client's own clock, for the tests of what a
// wait does with real time.
func WithRealClock() Option { return WithClock(sleepContext, time.Now) }

// DefaultBulkConcurrencyForTest is PostBulk's default concurrency.
const DefaultBulkConcurrencyForTest = defaultBulkConcurrency
