package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://dynamo-api.documill.com"

// idleConnTimeout is how long the default transport keeps an idle
// connection: less than the 60 s after which many servers close theirs.
const idleConnTimeout = 30 * time.Second

// Client talks to the Dynamo batch API and Task API. It is safe for
// concurrent use; create one per tenant and reuse it. Formatting a Client
// with fmt never shows its API key.
type Client struct {
	tenantID     string
	apiKey       string
	baseURL      *url.URL
	base         string // baseURL as text, the prefix of every API request
	httpClient   *http.Client
	retry        *retryablehttp.Client // shared by every call; a call's state travels in its context
	logger       *slog.Logger
	userAgent    string
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
	sleep        func(context.Context, time.Duration) error
	now          func() time.Time
}

// NewClient returns a client for the tenant tenantID (with Salesforce, the
// organization ID) that authenticates with apiKey. It fails with a
// *ConfigError (matching ErrInvalidConfig) when either is empty or holds a
// space or a control character, or when an option is invalid. Nil options
// are skipped.
func NewClient(tenantID, apiKey string, opts ...Option) (*Client, error) {
	return newClient("NewClient", tenantID, apiKey, opts)
}

// newClient is NewClient for the constructor named call.
func newClient(call, tenantID, apiKey string, opts []Option) (*Client, error) {
	cfg := defaultConfig()
	if err := applyOptions(call, &cfg, opts); err != nil {
		return nil, err
	}
	if err := checkCredentials(tenantID, apiKey); err != nil {
		return nil, inCall(call, err)
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, inCall(call, configErrorf(cfg.baseURLFrom, "%s", err.Error()))
	}
	hc := cfg.httpClient // already a copy of the caller's
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Servers and load balancers often close an idle connection after
		// 60 s; a post written onto a connection closed just then is lost
		// with an unknown outcome. Closing idle ones sooner, before the
		// server does, makes that rare.
		tr.IdleConnTimeout = idleConnTimeout
		hc = &http.Client{Transport: tr}
	}
	hc.CheckRedirect = refuseCredentialRedirects(hc.CheckRedirect)
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	ua := fmt.Sprintf("dynamo-go/%s (%s)", Version, runtime.Version())
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	c := &Client{
		tenantID:     tenantID,
		apiKey:       apiKey,
		baseURL:      base,
		base:         base.String(),
		httpClient:   hc,
		logger:       logger,
		userAgent:    ua,
		retryWaitMin: cfg.retryWaitMin,
		retryWaitMax: cfg.retryWaitMax,
		insecureHTTP: cfg.insecureHTTP,
		sleep:        cfg.sleep,
		now:          cfg.now,
	}
	c.retry = &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // the SDK logs through its own slog logger, without secrets
		RetryWaitMin: cfg.retryWaitMin,
		RetryWaitMax: cfg.retryWaitMax,
		RetryMax:     cfg.maxRetries,
		CheckRetry:   c.checkRetry,
		// The wait is slept in PrepareRetry instead, where the call's
		// context, clock and reason are at hand.
		Backoff:        func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry:   c.prepareRetry,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: c.attemptStarts,
	}
	return c, nil
}

// Environment variables read by NewClientFromEnv.
const (
	EnvTenantID = "DYNAMO_TENANT_ID"
	EnvAPIKey   = "DYNAMO_API_KEY"
	EnvBaseURL  = "DYNAMO_BASE_URL"
)

// NewClientFromEnv is NewClient with the tenant ID, API key and (optionally)
// base URL taken from DYNAMO_TENANT_ID, DYNAMO_API_KEY and DYNAMO_BASE_URL.
// Options given override the environment.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	return newClientFromLookup(os.Getenv, opts...)
}

func newClientFromLookup(env func(string) string, opts ...Option) (*Client, error) {
	const call = "NewClientFromEnv"
	if u := env(EnvBaseURL); u != "" {
		opts = append([]Option{baseURLFrom(EnvBaseURL, u)}, opts...)
	}
	tenant, key := env(EnvTenantID), env(EnvAPIKey)
	switch {
	case tenant == "":
		return nil, inCall(call, configErrorf(EnvTenantID, "not set; set it to the tenant ID (with Salesforce, the organization ID)"))
	case key == "":
		return nil, inCall(call, configErrorf(EnvAPIKey, "not set; set it to the tenant's API key"))
	}
	return newClient(call, tenant, key, opts)
}

// checkCredentials checks the tenant ID and API key as given to NewClient,
// never showing the key.
func checkCredentials(tenantID, apiKey string) error {
	switch {
	case tenantID == "":
		return configErrorf("tenantID", "empty")
	case apiKey == "":
		return configErrorf("apiKey", "empty")
	case hasControl(tenantID) || strings.ContainsRune(tenantID, ' '):
		return configErrorf("tenantID", "contains a space or control character")
	case hasControl(apiKey) || strings.ContainsRune(apiKey, ' '):
		return configErrorf("apiKey", "contains a space or control character")
	}
	return nil
}

// isVersionSegment reports that seg, a last path segment, is an API version.
func isVersionSegment(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	for _, c := range seg[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseBaseURL checks a base URL; its errors say what is wrong with raw and
// what to give instead.
func parseBaseURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL; give the API host, like " + DefaultBaseURL)
	}
	path := strings.TrimSuffix(u.Path, "/")
	switch {
	case u.User != nil: // checked first: the URL is not shown
		return nil, errors.New("must not contain user info; the credentials are NewClient's arguments")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%q: the scheme must be https, like %s", raw, DefaultBaseURL)
	case u.Host == "":
		return nil, fmt.Errorf("%q: no host; give the API host, like %s", raw, DefaultBaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q: must not have a query or fragment", raw)
	case isVersionSegment(path[strings.LastIndex(path, "/")+1:]):
		u.Path, u.RawPath = path[:strings.LastIndex(path, "/")], ""
		return nil, fmt.Errorf("%q ends in an API version, which the SDK adds to every request; give the host only: %q", raw, u.String())
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%q: plain http would expose the API key; use https (or WithInsecurePlainHTTP)", raw)
	}
	u.Path = path
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("dynamo.Client{tenant: %s, baseURL: %s}", c.tenantID, c.baseURL)
}

// Format implements fmt.Formatter so that no verb shows the API key.
func (c *Client) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, c.String(), c.String())
}

// BaseURL returns the API base URL the client sends requests to.
func (c *Client) BaseURL() string { return c.base }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.httpClient.CloseIdleConnections() }

// refuseCredentialRedirects wraps a CheckRedirect so that a request carrying
// the API key is never redirected to another scheme or host, and a post is
// never redirected at all: the redirect itself is then the answer, which
// classify judges like any other. Go's http.Client removes only standard
// credential headers on such hops, not x-dynamo-api-key.
func refuseCredentialRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		if first.Method == http.MethodPost || (first.Header.Get(headerAPIKey) != "" &&
			(req.URL.Scheme != first.URL.Scheme || req.URL.Host != first.URL.Host)) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// discardHandler is a slog.Handler that drops every record.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
