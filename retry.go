package dynamo

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The retry policy is classify's table (outcome.go): a post is sent again
// only when the server provably did not take it; a GET on any failure that
// may pass.
//
// Waits grow exponentially with full jitter (a random wait up to min·2ⁿ,
// capped at max). A Retry-After header, in seconds or as an HTTP date,
// replaces the wait; one longer than max ends the retries instead, and the
// error carries it in APIError.RetryAfter.

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
	if ceiling < math.MaxInt64 {
		ceiling++ // the ceiling itself may be drawn
	}
	return rand.N(ceiling)
}

// maxRetryAfter bounds the wait a Retry-After header can state.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter parses a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// sleepContext waits for d, or until ctx is done, whichever comes first; it
// returns ctx's error in the second case.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
