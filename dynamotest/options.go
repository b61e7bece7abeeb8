package dynamotest

import (
	"fmt"
	"strings"
	"time"
)

// defaultTenantID is the tenant ID a Server accepts unless WithCredentials says otherwise.
const defaultTenantID = "00D000000000001AAA"

// serverConfig holds what the ServerOptions set.
type serverConfig struct {
	tenantID     string
	apiKey       string
	now          func() time.Time
	autoComplete time.Duration
	resultIDs    []string
}

// ServerOption configures a Server created by NewServer. An option given an invalid
// value panics when it is called, naming itself; NewServer skips nil options.
type ServerOption func(*serverConfig)

// WithCredentials sets the tenant ID and API key the server accepts. By default the
// tenant is "00D000000000001AAA" and the key is 32 random hex digits, new for every
// server. WithCredentials panics if either is empty or holds a character that cannot
// travel in an HTTP header.
func WithCredentials(tenantID, apiKey string) ServerOption {
	mustHeaderValue("WithCredentials", "tenant ID", tenantID)
	mustHeaderValue("WithCredentials", "API key", apiKey)
	return func(c *serverConfig) {
		c.tenantID = tenantID
		c.apiKey = apiKey
	}
}

func mustHeaderValue(option, what, v string) {
	if v == "" {
		panic(fmt.Sprintf("dynamotest: %s: empty %s", option, what))
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		panic(fmt.Sprintf("dynamotest: %s: the %s holds a control character", option, what))
	}
}

// WithClock replaces time.Now as the server's clock. The clock stamps postings and
// task progress, and decides auto-completion, the expiry of batches, and the expiry
// of result URLs. WithClock panics if now is nil.
func WithClock(now func() time.Time) ServerOption {
	if now == nil {
		panic("dynamotest: WithClock: nil clock")
	}
	return func(c *serverConfig) { c.now = now }
}

// WithAutoComplete makes every task that the test does not drive complete on its own,
// after the given duration from the moment its batch was posted. The delay is judged
// lazily, by the clock, whenever state is read (status requests, snapshots,
// drivers). Zero, the default, means never: tasks stay queued until the test drives
// them.
// WithAutoComplete panics if after is negative.
func WithAutoComplete(after time.Duration) ServerOption {
	if after < 0 {
		panic(fmt.Sprintf("dynamotest: WithAutoComplete: negative delay %v", after))
	}
	return func(c *serverConfig) { c.autoComplete = after }
}

// WithResultFiles gives every auto-completed task one result file per ID, with
// generated content of the form "result <id> of task <taskID>". WithResultFiles
// panics if an ID is empty or given twice.
func WithResultFiles(ids ...string) ServerOption {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			panic("dynamotest: WithResultFiles: empty result file ID")
		}
		if seen[id] {
			panic(fmt.Sprintf("dynamotest: WithResultFiles: result file ID %q given twice", id))
		}
		seen[id] = true
	}
	ids = append([]string(nil), ids...)
	return func(c *serverConfig) { c.resultIDs = ids }
}

func defaultConfig() serverConfig {
	return serverConfig{
		tenantID: defaultTenantID,
		apiKey:   randomHex(16),
		now:      time.Now,
	}
}
