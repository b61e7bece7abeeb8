package salesforce

import (
	"context"
	"time"
)

// WithClock replaces a source's clock in tests: now is the time a
// session's age is read against, sleep takes the place of every wait
// between two attempts.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		if sleep != nil {
			o.sleep = sleep
		}
		return nil
	}
}

// Waiters is how many callers wait for the mint under way.
func (s *Source) Waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight == nil {
		return 0
	}
	return s.flight.waiters
}

// WithCLITimeout replaces how long one run of sf may take.
func WithCLITimeout(d time.Duration) Option {
	return func(o *options) error {
		o.cliTimeout = d
		return nil
	}
}
