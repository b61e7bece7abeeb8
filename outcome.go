package dynamo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// verdict is what one attempt of a request came to. It is decided in one
// place, classify; the retry policy, the errors the calls return and the bulk
// journal all follow it.
type verdict int

const (
	// verdictSuccess: the answer is the call's result.
	verdictSuccess verdict = iota
	// verdictRetry: the attempt may be sent again after a wait. For a post,
	// the server provably did not take it.
	verdictRetry
	// verdictFailed: the call failed; for a post, provably nothing was
	// created.
	verdictFailed
	// verdictUnknown: a post that the server may have taken: a batch or task
	// may exist.
	verdictUnknown
)

func (v verdict) String() string {
	switch v {
	case verdictSuccess:
		return "success"
	case verdictRetry:
		return "retry"
	case verdictFailed:
		return "failed"
	case verdictUnknown:
		return "unknown"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// attempt is what is known of one attempt of a request once it ended.
type attempt struct {
	method string
	// bodySent reports that the transport read the whole request body: the
	// server may have received all of it.
	bodySent bool
	// status is the answer's status code, 0 when no answer came; err is then
	// why.
	status int
	err    error
	// retryAfter is the answer's Retry-After header.
	retryAfter string
	// decoded reports, for a 2xx answer, that its body gave the call's result
	// (for a post, the batch or task ID). It is false while the body has not
	// been read.
	decoded bool
	// ctxDone reports that the call's context ended.
	ctxDone bool
	// noRetryLeft reports that the call may send no further attempt.
	noRetryLeft bool
	// bodyUsedUp reports a single-use body (TemplateFromReader) of which
	// some was read: it cannot be sent again.
	bodyUsedUp bool
	// stopped reports that the call ended while waiting to retry, so that
	// this attempt was never sent: the previous one was not taken.
	stopped bool
}

// decision is classify's answer.
type decision struct {
	verdict verdict
	// reason says why, for the log; the call replaces a network error's
	// reason with the error's text, secrets removed.
	reason string
	// retryAfter is the wait the server asked for, when it asked
	// (hasRetryAfter); otherwise a retry waits the jittered backoff.
	retryAfter    time.Duration
	hasRetryAfter bool
	// notReplayable is set when the attempt would have been retried but its
	// body cannot be sent again (ErrNotReplayable).
	notReplayable bool
}

// retryPolicy holds what classify needs besides the attempt.
type retryPolicy struct {
	maxWait time.Duration // a longer Retry-After ends the retries
	now     time.Time     // for a Retry-After given as a date
}

// classify decides what an attempt came to. It is a pure function of the
// attempt and the policy.
//
//	                        GET                       POST (batch, task)
//	2xx, result decoded     success                   success
//	2xx, body not usable    failed                    unknown
//	3xx (never followed     failed                    unknown
//	  for a post, nor to
//	  another host)
//	429, 503                retry                     retry
//	500, 502, 504 and       retry                     unknown
//	  other 5xx but 501,505
//	501, 505                failed                    failed
//	other status            failed                    failed
//	connection not made     retry                     retry
//	other network error     retry                     unknown once the whole
//	                                                  body was sent, else failed
//	wrong certificate,      failed                    failed
//	  body source error
//	context done            failed                    as a network error,
//	                                                  never retried
//	stopped while waiting   failed                    failed
//	  to retry
//
// A retry becomes failed when no retry is left, when the body cannot be
// sent again (notReplayable), or when a Retry-After is longer than the
// policy's maxWait: the caller decides whether to wait that long.
func classify(a attempt, p retryPolicy) decision {
	if a.stopped {
		return decision{verdict: verdictFailed, reason: "stopped while waiting to retry; the last attempt was not taken"}
	}
	d := judge(a, p)
	if d.verdict == verdictRetry {
		switch {
		case a.bodyUsedUp:
			d.verdict, d.notReplayable = verdictFailed, true
		case a.noRetryLeft:
			d.verdict = verdictFailed
		}
	}
	return d
}

// judge is classify for an attempt that was sent, before the limits on
// retrying.
func judge(a attempt, p retryPolicy) decision {
	post := a.method == http.MethodPost
	if a.status == 0 {
		return classifyNoAnswer(a, post)
	}
	code := a.status
	switch {
	case code >= 200 && code < 300:
		// Constant reasons: every answer passes here before its body is read.
		switch {
		case a.decoded:
			return decision{verdict: verdictSuccess}
		case post:
			return decision{verdict: verdictUnknown, reason: "a success whose body does not give the ID"}
		}
		return decision{verdict: verdictFailed, reason: "a success whose body cannot be read"}
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		d := decision{verdict: verdictRetry, reason: fmt.Sprintf("status %d", code)}
		d.retryAfter, d.hasRetryAfter = parseRetryAfter(a.retryAfter, p.now)
		if a.ctxDone || (d.hasRetryAfter && d.retryAfter > p.maxWait) {
			d.verdict = verdictFailed
		}
		return d
	case code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		reason := fmt.Sprintf("status %d", code)
		switch {
		case post:
			return decision{verdict: verdictUnknown, reason: reason}
		case a.ctxDone:
			return decision{verdict: verdictFailed, reason: reason}
		}
		return decision{verdict: verdictRetry, reason: reason}
	case post && code >= 300 && code < 400:
		// "See other" tells that the post was processed; any other
		// redirect may come after the server acted on it too.
		return decision{verdict: verdictUnknown, reason: fmt.Sprintf("status %d, a redirect of a post", code)}
	}
	return decision{verdict: verdictFailed, reason: fmt.Sprintf("status %d", code)}
}

// classifyNoAnswer decides an attempt that got no answer.
func classifyNoAnswer(a attempt, post bool) decision {
	var srcErr *formdata.SourceError
	switch {
	case errors.As(a.err, &srcErr):
		// The body could not be produced: the server never had all of it.
		return decision{verdict: verdictFailed, reason: "the request body could not be read"}
	case errors.Is(a.err, ErrNotReplayable):
		return decision{verdict: verdictFailed, reason: "the request body cannot be sent again"}
	case wrongCertificate(a.err):
		return decision{verdict: verdictFailed, reason: "the server's certificate was refused"}
	case connNotMade(a.err):
		if a.ctxDone {
			return decision{verdict: verdictFailed, reason: "no connection"}
		}
		return decision{verdict: verdictRetry, reason: "no connection"}
	case post && a.bodySent:
		return decision{verdict: verdictUnknown, reason: "the request was sent but no answer came"}
	case post || a.ctxDone:
		return decision{verdict: verdictFailed, reason: "no answer"}
	}
	return decision{verdict: verdictRetry, reason: "no answer"}
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

// wrongCertificate reports a TLS certificate the client refused: it does not
// fix itself, so it is not retried.
func wrongCertificate(err error) bool {
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	return errors.As(err, &certErr) || errors.As(err, &authErr) || errors.As(err, &hostErr)
}

// outcomeOf reads a call's verdict back from the error it returned: nil is
// success, and so is a *BatchTaskCountError (the batch was created, only its
// answer is odd); an error matching ErrOutcomeUnknown is unknown, any other
// error failed.
func outcomeOf(err error) verdict {
	var countErr *BatchTaskCountError
	switch {
	case err == nil, errors.As(err, &countErr):
		return verdictSuccess
	case errors.Is(err, ErrOutcomeUnknown):
		return verdictUnknown
	}
	return verdictFailed
}
