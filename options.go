package dynamo

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a Client in NewClient or NewClientFromEnv. An option given
// an invalid value makes the constructor fail with an error that names the
// option; a nil Option is skipped.
//
// Every option type of the package follows the same rule: Option,
// PollOption, WaitBatchOption, WaitTaskOption, BatchTaskStatusesOption and
// BulkOption.
type Option func(*config) error

// config is what the options set; NewClient turns it into a Client.
type config struct {
	baseURL      string
	baseURLFrom  string // the option or variable that set baseURL, for its errors
	httpClient   *http.Client
	logger       *slog.Logger
	userAgent    string
	maxRetries   int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
	// The clock of retries and waits: replaced in the package's tests so
	// that they need not wait.
	sleep func(context.Context, time.Duration) error
	now   func() time.Time
}

// Defaults of the retry policy.
const (
	defaultMaxRetries   = 3
	defaultRetryWaitMin = 500 * time.Millisecond
	defaultRetryWaitMax = 30 * time.Second
)

func defaultConfig() config {
	return config{
		baseURL:      DefaultBaseURL,
		baseURLFrom:  "WithBaseURL",
		maxRetries:   defaultMaxRetries,
		retryWaitMin: defaultRetryWaitMin,
		retryWaitMax: defaultRetryWaitMax,
		sleep:        sleepContext,
		now:          time.Now,
	}
}

// WithBaseURL sends requests to u instead of DefaultBaseURL. u must be an
// absolute https URL without query or user info, and names the host (and any
// path prefix of a proxy) only: the SDK adds the API version, so a path that
// ends in one (/v1, /v2/) is refused. Plain http is accepted only for a
// loopback host (127.0.0.0/8, ::1, localhost) unless WithInsecurePlainHTTP is
// also given. NewClient checks u, once every option is applied.
func WithBaseURL(u string) Option { return baseURLFrom("WithBaseURL", u) }

// baseURLFrom sets the base URL, given by the option or variable named from.
func baseURLFrom(from, u string) Option {
	return func(c *config) error {
		c.baseURL, c.baseURLFrom = u, from
		return nil
	}
}

// WithHTTPClient sends requests through a copy of hc, so that its transport,
// timeouts, proxies and tracing apply. The caller's client is never modified;
// the copy refuses redirects that would carry the credentials to another
// host. hc.Timeout bounds each attempt; a context deadline bounds the call.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return configErrorf("WithHTTPClient", "nil *http.Client")
		}
		cp := *hc
		c.httpClient = &cp
		return nil
	}
}

// WithLogger logs each request attempt and each retry with its reason at debug
// level, and failures at warn level, through l. Log records carry the method,
// the path, the status and the error, never a credential or a body. A nil l
// turns logging off, which is the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithMaxRetries bounds the retries after the first attempt; 0 disables
// retries. The default is 3.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return configErrorf("WithMaxRetries", "negative count %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait sets the backoff between attempts: the n-th retry waits a
// random time up to min·2ⁿ, never more than max. A Retry-After header from the
// server replaces that wait; one asking for more than max is not retried and
// ends the call with the server's error, its RetryAfter set. The defaults are
// 500ms and 30s.
func WithRetryWait(min, max time.Duration) Option {
	return func(c *config) error {
		if min < 0 || max < min {
			return configErrorf("WithRetryWait", "need 0 <= min <= max, got %v and %v", min, max)
		}
		c.retryWaitMin, c.retryWaitMax = min, max
		return nil
	}
}

// WithUserAgent puts product (like "month-end-report/2.1") before the SDK's
// own User-Agent.
func WithUserAgent(product string) Option {
	return func(c *config) error {
		if hasControl(product) {
			return configErrorf("WithUserAgent", "control character in %q", product)
		}
		c.userAgent = product
		return nil
	}
}

// WithInsecurePlainHTTP allows a plain http:// base URL on a host other than
// loopback. The API key then crosses the network unencrypted: use it only on a
// network you control, such as a test environment behind a proxy.
func WithInsecurePlainHTTP() Option {
	return func(c *config) error {
		c.insecureHTTP = true
		return nil
	}
}
