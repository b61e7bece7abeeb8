package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults of WaitBatch's and WaitTask's polling.
const (
	DefaultPollInterval    = time.Second
	DefaultMaxPollInterval = 15 * time.Second
)

// WaitOption configures WaitBatch and WaitTask. An option given an invalid
// value makes the call fail at once, before any request, with an error that
// names the option; a nil WaitOption is skipped.
type WaitOption func(*waitConfig) error

type waitConfig struct {
	interval, maxInterval time.Duration
	maxSet                bool
	batchProgress         func(*BatchStatus)
	taskProgress          func(*TaskStatus)
}

// WithPollInterval sets the first wait between two status calls (default
// DefaultPollInterval); each later wait doubles, up to the maximum. d must be
// positive.
func WithPollInterval(d time.Duration) WaitOption {
	return func(c *waitConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithPollInterval: %v is not positive", d)
		}
		c.interval = d
		return nil
	}
}

// WithMaxPollInterval caps the wait between two status calls (default
// DefaultMaxPollInterval, or the first interval when that is longer). d must
// be at least the first interval.
func WithMaxPollInterval(d time.Duration) WaitOption {
	return func(c *waitConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithMaxPollInterval: %v is not positive", d)
		}
		c.maxInterval, c.maxSet = d, true
		return nil
	}
}

// WithProgress calls fn with every status WaitBatch reads, the last one
// included, on the goroutine that called WaitBatch. It is for WaitBatch;
// WaitTask takes WithTaskProgress.
func WithProgress(fn func(*BatchStatus)) WaitOption {
	return func(c *waitConfig) error {
		if fn == nil {
			return errors.New("WithProgress: nil function")
		}
		c.batchProgress = fn
		return nil
	}
}

// WithTaskProgress calls fn with every status WaitTask reads, the last one
// included, on the goroutine that called WaitTask. It is for WaitTask;
// WaitBatch takes WithProgress.
func WithTaskProgress(fn func(*TaskStatus)) WaitOption {
	return func(c *waitConfig) error {
		if fn == nil {
			return errors.New("WithTaskProgress: nil function")
		}
		c.taskProgress = fn
		return nil
	}
}

// waitOptions applies opts for the call named call.
func waitOptions(call string, opts []WaitOption) (waitConfig, error) {
	cfg := waitConfig{interval: DefaultPollInterval, maxInterval: DefaultMaxPollInterval}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return cfg, fmt.Errorf("dynamo: %s: %w", call, err)
		}
	}
	switch {
	case !cfg.maxSet:
		cfg.maxInterval = max(cfg.maxInterval, cfg.interval)
	case cfg.maxInterval < cfg.interval:
		return cfg, fmt.Errorf("dynamo: %s: WithMaxPollInterval: %v is less than the poll interval %v", call, cfg.maxInterval, cfg.interval)
	}
	switch {
	case call == "WaitBatch" && cfg.taskProgress != nil:
		return cfg, errors.New("dynamo: WaitBatch: WithTaskProgress is for WaitTask; use WithProgress")
	case call == "WaitTask" && cfg.batchProgress != nil:
		return cfg, errors.New("dynamo: WaitTask: WithProgress is for WaitBatch; use WithTaskProgress")
	}
	return cfg, nil
}

// WaitBatch polls the status of batch batchID until it is completed and
// returns that last status. A batch completed with task errors is not an
// error of WaitBatch: the status says Errors. An unknown or expired batch
// fails with ErrNotFound; a done context ends the wait at once with the
// context's error.
func (c *Client) WaitBatch(ctx context.Context, batchID string, opts ...WaitOption) (*BatchStatus, error) {
	cfg, err := waitOptions("WaitBatch", opts)
	if err != nil {
		return nil, err
	}
	return poll(ctx, c, &cfg, "batch "+batchID,
		func(ctx context.Context) (*BatchStatus, error) { return c.GetBatchStatus(ctx, batchID) },
		func(st *BatchStatus) bool { return st.Completed }, cfg.batchProgress)
}

// poll calls get until done says its status is final, reporting each status
// to progress (when set) and waiting between two calls as cfg says, with the
// client's clock.
func poll[T any](ctx context.Context, c *Client, cfg *waitConfig, what string,
	get func(context.Context) (T, error), done func(T) bool, progress func(T)) (T, error) {
	var zero T
	for wait := cfg.interval; ; wait = min(2*wait, cfg.maxInterval) {
		st, err := get(ctx)
		if err != nil {
			return zero, err
		}
		if progress != nil {
			progress(st)
		}
		if done(st) {
			return st, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return zero, fmt.Errorf("dynamo: waiting for %s: %w", what, err)
		}
	}
}
