package dynamo

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// TestClassify is the table of what one attempt comes to: the one place that
// decides it.
func TestClassify(t *testing.T) {
	t.Parallel()
	const get, post = "GET", "POST"
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	policy := retryPolicy{maxWait: 30 * time.Second, now: now}
	dial := &url.Error{Op: "Post", URL: "https://api", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	dns := &url.Error{Op: "Get", URL: "https://api", Err: &net.DNSError{Err: "no such host", Name: "api"}}
	reset := &url.Error{Op: "Post", URL: "https://api", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	eof := &url.Error{Op: "Post", URL: "https://api", Err: io.EOF}
	timeout := &url.Error{Op: "Post", URL: "https://api", Err: context.DeadlineExceeded}
	cert := &url.Error{Op: "Get", URL: "https://api", Err: x509.UnknownAuthorityError{}}
	source := &url.Error{Op: "Post", URL: "https://api", Err: &formdata.SourceError{Part: "template", Err: errors.New("disk gone")}}

	for _, tc := range []struct {
		name    string
		a       attempt
		want    verdict
		wantRA  time.Duration // the Retry-After to wait, when one was given
		checkRA bool
	}{
		// Answers with a success status.
		{"post 202 with ID", attempt{method: post, status: 202, decoded: true}, verdictSuccess, 0, false},
		{"post 200 with ID", attempt{method: post, status: 200, decoded: true}, verdictSuccess, 0, false},
		{"post 201 with ID", attempt{method: post, status: 201, decoded: true}, verdictSuccess, 0, false},
		{"post 202 without ID", attempt{method: post, status: 202}, verdictUnknown, 0, false},
		{"post 200 without ID", attempt{method: post, status: 200}, verdictUnknown, 0, false},
		{"post 204", attempt{method: post, status: 204}, verdictUnknown, 0, false},
		{"get 200 decoded", attempt{method: get, status: 200, decoded: true}, verdictSuccess, 0, false},
		{"get 200 undecodable", attempt{method: get, status: 200}, verdictFailed, 0, false},
		// Answers the server gives when it did not take the request.
		{"post 503", attempt{method: post, bodySent: true, status: 503}, verdictRetry, 0, false},
		{"post 429", attempt{method: post, bodySent: true, status: 429}, verdictRetry, 0, false},
		{"post 429 retry-after 2", attempt{method: post, status: 429, retryAfter: "2"}, verdictRetry, 2 * time.Second, true},
		{"post 503 retry-after date", attempt{method: post, status: 503, retryAfter: now.Add(5 * time.Second).Format(http.TimeFormat)}, verdictRetry, 5 * time.Second, true},
		{"post 503 retry-after past date", attempt{method: post, status: 503, retryAfter: now.Add(-time.Hour).Format(http.TimeFormat)}, verdictRetry, 0, true},
		{"post 503 retry-after over max", attempt{method: post, status: 503, retryAfter: "3600"}, verdictFailed, time.Hour, true},
		{"post 429 retry-after garbage", attempt{method: post, status: 429, retryAfter: "soon"}, verdictRetry, 0, false},
		{"get 429 context done", attempt{method: get, status: 429, ctxDone: true}, verdictFailed, 0, false},
		// Server errors: a post may have been taken.
		{"post 500", attempt{method: post, bodySent: true, status: 500}, verdictUnknown, 0, false},
		{"post 502", attempt{method: post, bodySent: true, status: 502}, verdictUnknown, 0, false},
		{"post 504", attempt{method: post, bodySent: true, status: 504}, verdictUnknown, 0, false},
		{"post 507", attempt{method: post, bodySent: true, status: 507}, verdictUnknown, 0, false},
		{"post 501", attempt{method: post, bodySent: true, status: 501}, verdictFailed, 0, false},
		{"post 505", attempt{method: post, bodySent: true, status: 505}, verdictFailed, 0, false},
		{"get 500", attempt{method: get, status: 500}, verdictRetry, 0, false},
		{"get 504", attempt{method: get, status: 504}, verdictRetry, 0, false},
		{"get 501", attempt{method: get, status: 501}, verdictFailed, 0, false},
		{"get 500 context done", attempt{method: get, status: 500, ctxDone: true}, verdictFailed, 0, false},
		{"post 500 context done", attempt{method: post, status: 500, ctxDone: true}, verdictUnknown, 0, false},
		// Refusals.
		{"post 400", attempt{method: post, bodySent: true, status: 400}, verdictFailed, 0, false},
		{"post 401", attempt{method: post, status: 401}, verdictFailed, 0, false},
		{"post 408", attempt{method: post, bodySent: true, status: 408}, verdictFailed, 0, false},
		{"post 409", attempt{method: post, bodySent: true, status: 409}, verdictFailed, 0, false},
		{"post 413", attempt{method: post, status: 413}, verdictFailed, 0, false},
		{"get 404", attempt{method: get, status: 404}, verdictFailed, 0, false},
		{"get 304", attempt{method: get, status: 304}, verdictFailed, 0, false},
		// No answer.
		{"post dial refused", attempt{method: post, err: dial}, verdictRetry, 0, false},
		{"post dns", attempt{method: post, err: dns}, verdictRetry, 0, false},
		{"post dial refused, context done", attempt{method: post, err: dial, ctxDone: true}, verdictFailed, 0, false},
		{"post reset after the whole body", attempt{method: post, bodySent: true, err: reset}, verdictUnknown, 0, false},
		{"post reset before the whole body", attempt{method: post, err: reset}, verdictFailed, 0, false},
		{"post EOF after the whole body", attempt{method: post, bodySent: true, err: eof}, verdictUnknown, 0, false},
		{"post timeout after the whole body", attempt{method: post, bodySent: true, err: timeout, ctxDone: true}, verdictUnknown, 0, false},
		{"post cancelled before the whole body", attempt{method: post, err: timeout, ctxDone: true}, verdictFailed, 0, false},
		{"post template source failed", attempt{method: post, err: source}, verdictFailed, 0, false},
		{"post not replayable", attempt{method: post, err: ErrNotReplayable}, verdictFailed, 0, false},
		{"get reset", attempt{method: get, err: reset}, verdictRetry, 0, false},
		{"get dns", attempt{method: get, err: dns}, verdictRetry, 0, false},
		{"get cancelled", attempt{method: get, err: timeout, ctxDone: true}, verdictFailed, 0, false},
		{"get unknown authority", attempt{method: get, err: cert}, verdictFailed, 0, false},
		// Redirects, which the SDK never follows for a post, nor to another host.
		{"post 303", attempt{method: post, bodySent: true, status: 303}, verdictUnknown, 0, false},
		{"post 301", attempt{method: post, bodySent: true, status: 301}, verdictUnknown, 0, false},
		{"post 302", attempt{method: post, bodySent: true, status: 302}, verdictUnknown, 0, false},
		{"post 307", attempt{method: post, bodySent: true, status: 307}, verdictUnknown, 0, false},
		{"post 308", attempt{method: post, bodySent: true, status: 308}, verdictUnknown, 0, false},
		{"get 302 to another host", attempt{method: get, status: 302}, verdictFailed, 0, false},
		// The limits on retrying.
		{"post 503, no retry left", attempt{method: post, status: 503, noRetryLeft: true}, verdictFailed, 0, false},
		{"get reset, no retry left", attempt{method: get, err: reset, noRetryLeft: true}, verdictFailed, 0, false},
		{"post 503, body read once", attempt{method: post, status: 503, bodyUsedUp: true}, verdictFailed, 0, false},
		{"post dial refused, body read once", attempt{method: post, err: dial, bodyUsedUp: true}, verdictFailed, 0, false},
		{"post 500, body read once", attempt{method: post, bodySent: true, status: 500, bodyUsedUp: true}, verdictUnknown, 0, false},
		{"post stopped while waiting to retry", attempt{method: post, bodySent: true, err: timeout, ctxDone: true, stopped: true}, verdictFailed, 0, false},
		{"get stopped while waiting to retry", attempt{method: get, err: timeout, ctxDone: true, stopped: true}, verdictFailed, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.a, policy)
			if got.verdict != tc.want {
				t.Errorf("verdict %v (%s), want %v", got.verdict, got.reason, tc.want)
			}
			if tc.checkRA && (!got.hasRetryAfter || got.retryAfter != tc.wantRA) {
				t.Errorf("Retry-After %v (given: %v), want %v", got.retryAfter, got.hasRetryAfter, tc.wantRA)
			}
			if !tc.checkRA && got.hasRetryAfter {
				t.Errorf("Retry-After %v, want none", got.retryAfter)
			}
			if got.verdict != verdictSuccess && got.reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

// TestOutcomeOfErrors reads the verdict back from the errors the calls
// return, as PostBulk and its journal do.
func TestOutcomeOfErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want verdict
	}{
		{nil, verdictSuccess},
		{&APIError{StatusCode: 502, OutcomeUnknown: true}, verdictUnknown},
		{&APIError{StatusCode: 400}, verdictFailed},
		{&TransportError{OutcomeUnknown: true, Err: io.EOF}, verdictUnknown},
		{&TransportError{Err: context.Canceled}, verdictFailed},
		{fmt.Errorf("wrapped: %w", &TransportError{OutcomeUnknown: true}), verdictUnknown},
		{&ValidationError{}, verdictFailed},
	} {
		if got := outcomeOf(tc.err); got != tc.want {
			t.Errorf("outcomeOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
