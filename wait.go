package dynamo

import (
	"context"
	"fmt"
	"time"
)

// Defaults of WaitBatch's polling.
const (
	DefaultPollInterval    = time.Second
	DefaultMaxPollInterval = 15 * time.Second
)

// WaitOption configures WaitBatch.
type WaitOption func(*waitConfig)

type waitConfig struct {
	interval, maxInterval time.Duration
	progress              func(*BatchStatus)
}

// WithPollInterval sets the first wait between two status calls (default
// DefaultPollInterval); each later wait doubles, up to the maximum.
func WithPollInterval(d time.Duration) WaitOption {
	return func(c *waitConfig) { c.interval = d }
}

// WithMaxPollInterval caps the wait between two status calls (default
// DefaultMaxPollInterval).
func WithMaxPollInterval(d time.Duration) WaitOption {
	return func(c *waitConfig) { c.maxInterval = d }
}

// WithProgress calls fn with every status WaitBatch reads, the last one
// included, on the goroutine that called WaitBatch.
func WithProgress(fn func(*BatchStatus)) WaitOption {
	return func(c *waitConfig) { c.progress = fn }
}

// WaitBatch polls the status of batch batchID until it is completed and
// returns that last status. A batch completed with task errors is not an
// error of WaitBatch: the status says Errors. An unknown or expired batch
// fails with ErrNotFound; a done context ends the wait at once with the
// context's error.
func (c *Client) WaitBatch(ctx context.Context, batchID string, opts ...WaitOption) (*BatchStatus, error) {
	cfg := waitConfig{interval: DefaultPollInterval, maxInterval: DefaultMaxPollInterval}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.interval <= 0 {
		cfg.interval = DefaultPollInterval
	}
	cfg.maxInterval = max(cfg.maxInterval, cfg.interval)
	for wait := cfg.interval; ; wait = min(2*wait, cfg.maxInterval) {
		st, err := c.GetBatchStatus(ctx, batchID)
		if err != nil {
			return nil, err
		}
		if cfg.progress != nil {
			cfg.progress(st)
		}
		if st.Completed {
			return st, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("dynamo: waiting for batch %s: %w", batchID, ctx.Err())
		case <-timer.C:
		}
	}
}
