package dynamo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The retry policy, by method:
//
//	                        GET (status)   POST /v1/batch
//	connection not made     retried        retried
//	other network error     retried        not retried; ErrOutcomeUnknown once the body was sent
//	429, 503                retried        retried
//	500, 502, 504           retried        not retried; ErrOutcomeUnknown
//	other 5xx but 501       retried        not retried
//	anything else           not retried    not retried
//
// Waits grow exponentially with full jitter (a random wait up to min·2ⁿ,
// capped at max). A Retry-After header, in seconds or as an HTTP date,
// replaces the wait; one longer than max ends the retries instead.

// timeNow is the clock of the retry policy, replaced in tests.
var timeNow = time.Now

// checkRetry decides whether the attempt that just ended is sent again.
func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	var reason string
	switch {
	case err != nil:
		reason = cl.redact(unwrapURLError(err))
		if !retryableNetError(err, cl.req.isPost()) {
			return false, nil
		}
	case !retryableStatus(resp.StatusCode, cl.req.isPost()):
		return false, nil
	default:
		reason = fmt.Sprintf("status %d", resp.StatusCode)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), timeNow()); ok && d > cl.client.retryWaitMax {
			return false, nil // the server asks for longer than we may wait: let the caller decide
		}
	}
	if cl.req.singleUse && cl.bodyStarted.Load() {
		cl.notReplayable = true
		return false, nil
	}
	cl.retryReason = reason
	cl.retrying = true
	return true, nil
}

// retryableNetError reports whether a failure without an answer may be sent
// again. A post only when the connection was never made: anything later may
// have delivered the batch.
func retryableNetError(err error, post bool) bool {
	if errors.Is(err, errRedirect) || errors.Is(err, ErrNotReplayable) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var x509Err x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &x509Err) || errors.As(err, &hostErr) {
		return false // a wrong certificate does not fix itself
	}
	if post {
		return connNotMade(err)
	}
	return true
}

// connNotMade reports whether err shows that no connection to the server was
// established, so that nothing of the request can have reached it.
func connNotMade(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// retryableStatus reports whether an answer with status code may be retried.
func retryableStatus(code int, post bool) bool {
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return true
	case post:
		return false
	default:
		return code >= 500 && code != http.StatusNotImplemented
	}
}

// outcomeUnknownStatus reports whether a post answered with code may still
// have created the batch: a server error or a gateway that lost the answer.
func outcomeUnknownStatus(code int) bool {
	return code >= 500 && code != http.StatusNotImplemented && code != http.StatusServiceUnavailable &&
		code != http.StatusHTTPVersionNotSupported
}

// backoff returns the wait before retry number attempt+1, and logs it with the
// reason checkRetry found.
func (cl *call) backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := jitteredBackoff(min, max, attempt)
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), timeNow()); ok {
			wait = d
		}
	}
	cl.client.logger.LogAttrs(context.Background(), slog.LevelDebug, "dynamo: retrying",
		slog.String("method", cl.req.method), slog.String("path", cl.logPath()),
		slog.Int("attempt", attempt+1), slog.String("reason", cl.retryReason), slog.Duration("wait", wait))
	return wait
}

// jitteredBackoff is "full jitter": a uniformly random wait in [0, min·2ⁿ],
// capped at max, so that clients failing together do not retry together.
func jitteredBackoff(min, max time.Duration, attempt int) time.Duration {
	ceiling := max
	if attempt < 62 {
		// A shift that overflows loses bits and keeps the cap; a zero
		// minimum means no wait.
		if d := min << attempt; d>>attempt == min && d < max {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
