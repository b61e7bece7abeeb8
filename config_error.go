package dynamo

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig matches every error of a configuration the SDK cannot
// use: NewClient's and NewClientFromEnv's arguments and environment, and an
// option of any call given a value it cannot use. Such an error is always a
// *ConfigError, and comes before anything is sent.
var ErrInvalidConfig = errors.New("dynamo: invalid configuration")

// ConfigError is a configuration the SDK cannot use: an argument of
// NewClient, a variable read by NewClientFromEnv, or an option's value. It
// matches ErrInvalidConfig.
type ConfigError struct {
	// Call is the call that was given the configuration, like "NewClient"
	// or "WaitBatch".
	Call string
	// Option names what is wrong: an option ("WithMaxRetries"), an argument
	// ("tenantID") or an environment variable ("DYNAMO_API_KEY").
	Option string
	// Problem says what is wrong with it and, where it helps, what to give
	// instead.
	Problem string
}

// Error says the call, the option and the problem, once each.
func (e *ConfigError) Error() string {
	return "dynamo: " + e.Call + ": " + e.Option + ": " + e.Problem
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// configErrorf returns the *ConfigError of option; the call that applies the
// option fills in Call.
func configErrorf(option, format string, args ...any) *ConfigError {
	return &ConfigError{Option: option, Problem: fmt.Sprintf(format, args...)}
}

// applyOptions applies opts to cfg in order, skipping nil ones; the first
// that fails is the error of the call named call.
func applyOptions[C any, O ~func(*C) error](call string, cfg *C, opts []O) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(cfg); err != nil {
			return inCall(call, err)
		}
	}
	return nil
}

// inCall sets the call of err, a *ConfigError from an option, and returns
// it; any other error is wrapped with the call's name.
func inCall(call string, err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		ce.Call = call
		return ce
	}
	return fmt.Errorf("dynamo: %s: %w", call, err)
}
