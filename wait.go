package dynamo

import (
	"context"
	"fmt"
	"time"
)

// Defaults of WaitBatch's and WaitTask's polling.
const (
	defaultPollInterval    = time.Second
	defaultMaxPollInterval = 15 * time.Second
)

// WaitBatchOption configures WaitBatch: a PollOption or WithBatchProgress.
// A nil WaitBatchOption is skipped.
type WaitBatchOption interface {
	applyWaitBatch(*waitConfig) error
}

// WaitTaskOption configures WaitTask: a PollOption or WithTaskProgress. A
// nil WaitTaskOption is skipped.
type WaitTaskOption interface {
	applyWaitTask(*waitConfig) error
}

// PollOption sets how WaitBatch and WaitTask poll; it is both a
// WaitBatchOption and a WaitTaskOption. An option given an invalid value
// makes the call fail at once, before any request, with an error that names
// the option.
type PollOption func(*waitConfig) error

func (o PollOption) applyWaitBatch(c *waitConfig) error { return o.apply(c) }
func (o PollOption) applyWaitTask(c *waitConfig) error  { return o.apply(c) }

func (o PollOption) apply(c *waitConfig) error {
	if o == nil {
		return nil
	}
	return o(c)
}

type waitConfig struct {
	interval, maxInterval time.Duration
	maxSet                bool
	batchProgress         func(*BatchStatus)
	taskProgress          func(*TaskStatus)
}

// WithPollInterval sets the first wait between two status calls (default
// 1s); each later wait doubles, up to the maximum. d must be positive.
func WithPollInterval(d time.Duration) PollOption {
	return func(c *waitConfig) error {
		if d <= 0 {
			return configErrorf("WithPollInterval", "%v is not positive", d)
		}
		c.interval = d
		return nil
	}
}

// WithMaxPollInterval caps the wait between two status calls (default 15s,
// or the first interval when that is longer). d must be at least the first
// interval.
func WithMaxPollInterval(d time.Duration) PollOption {
	return func(c *waitConfig) error {
		if d <= 0 {
			return configErrorf("WithMaxPollInterval", "%v is not positive", d)
		}
		c.maxInterval, c.maxSet = d, true
		return nil
	}
}

// batchProgress is the WaitBatchOption of WithBatchProgress.
type batchProgress func(*BatchStatus)

func (fn batchProgress) applyWaitBatch(c *waitConfig) error {
	if fn == nil {
		return configErrorf("WithBatchProgress", "nil function")
	}
	c.batchProgress = fn
	return nil
}

// taskProgress is the WaitTaskOption of WithTaskProgress.
type taskProgress func(*TaskStatus)

func (fn taskProgress) applyWaitTask(c *waitConfig) error {
	if fn == nil {
		return configErrorf("WithTaskProgress", "nil function")
	}
	c.taskProgress = fn
	return nil
}

// WithBatchProgress calls fn with every status WaitBatch reads, the last one
// included, on the goroutine that called WaitBatch.
func WithBatchProgress(fn func(*BatchStatus)) WaitBatchOption { return batchProgress(fn) }

// WithTaskProgress calls fn with every status WaitTask reads, the last one
// included, on the goroutine that called WaitTask.
func WithTaskProgress(fn func(*TaskStatus)) WaitTaskOption { return taskProgress(fn) }

// waitOptions applies the options of the call named call, each through
// apply.
func waitOptions[O any](call string, opts []O, apply func(O, *waitConfig) error) (waitConfig, error) {
	cfg := waitConfig{interval: defaultPollInterval, maxInterval: defaultMaxPollInterval}
	for _, opt := range opts {
		if any(opt) == nil {
			continue
		}
		if err := apply(opt, &cfg); err != nil {
			return cfg, inCall(call, err)
		}
	}
	switch {
	case !cfg.maxSet:
		cfg.maxInterval = max(cfg.maxInterval, cfg.interval)
	case cfg.maxInterval < cfg.interval:
		return cfg, inCall(call, configErrorf("WithMaxPollInterval", "%v is less than the poll interval %v", cfg.maxInterval, cfg.interval))
	}
	return cfg, nil
}

// WaitBatch polls the status of batch batchID until it is completed and
// returns that last status. A batch completed with task errors is not an
// error of WaitBatch: the status says Errors. An unknown or expired batch
// fails with ErrNotFound; a done context ends the wait at once with the
// context's error.
func (c *Client) WaitBatch(ctx context.Context, batchID string, opts ...WaitBatchOption) (*BatchStatus, error) {
	cfg, err := waitOptions("WaitBatch", opts, WaitBatchOption.applyWaitBatch)
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
