package dynamotest

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// defaultTenantID is the tenant ID a Server accepts unless WithCredentials says otherwise.
const defaultTenantID = "00D000000000001AAA"

// The licence limits a Task API answer reports unless WithUsageLimits says otherwise.
const (
	defaultAPITermMax     = 10000
	defaultSigningTermMax = 1000
)

// serverConfig holds what the ServerOptions set. Reset leaves it alone.
type serverConfig struct {
	tenantID       string
	apiKey         string
	now            func() time.Time
	autoComplete   time.Duration
	resultIDs      []string
	apiTermMax     int
	signingTermMax int
	onAccept       []func(Accepted)
	salesforce     *Salesforce // judges the sessions of posts; nil for none

	apiListener, storageListener net.Listener // WithListeners; nil for loopback ports of its own
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
// task progress, and decides auto-completion, the expiry of batches and tasks, and
// the expiry of result URLs. WithClock panics if now is nil.
func WithClock(now func() time.Time) ServerOption {
	if now == nil {
		panic("dynamotest: WithClock: nil clock")
	}
	return func(c *serverConfig) { c.now = now }
}

// WithAutoComplete makes every task that the test does not drive complete on its own,
// after the given duration from the moment it was posted: a batch's task becomes
// "Completed", a Task API task "Ready". The delay is judged lazily, by the clock,
// whenever state is read (status requests, snapshots, drivers). Zero, the default,
// means never: tasks stay where the post left them until the test drives them.
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

// WithUsageLimits sets the licence limits that every Task API answer reports in
// usage.api.termMax and usage.signing.termMax; by default 10000 and 1000. The fake
// only reports them: it never refuses a post over the limit. WithUsageLimits panics
// if a limit is negative.
func WithUsageLimits(apiTermMax, signingTermMax int) ServerOption {
	if apiTermMax < 0 || signingTermMax < 0 {
		panic(fmt.Sprintf("dynamotest: WithUsageLimits: negative limit (%d, %d)", apiTermMax, signingTermMax))
	}
	return func(c *serverConfig) {
		c.apiTermMax = apiTermMax
		c.signingTermMax = signingTermMax
	}
}

// Accepted tells an accept callback what the fake has just accepted. Exactly one of
// Batch and Task is set.
type Accepted struct {
	// Batch is a snapshot of a batch accepted by POST /v1/batch.
	Batch *Batch
	// Task is a snapshot of a task accepted by POST /v1/task.
	Task *Task
}

// WithOnAccept registers f to be called once for every post the fake accepts, batch
// or Task API task, so that a test can wait for an event instead of polling.
//
// f runs on the goroutine that serves the post, after the fake has stored what was
// posted and before the answer is written: the client has no answer yet, and a slow
// f delays it. No lock of the Server is held, so f may call any method of the Server
// except Close (Close waits for the post that is running f). A post that a Fault
// answers in place of the fake is not accepted and does not call f; one that a Fault
// drops or holds after handling it does, first. Seeded batches and tasks do not call
// f. Several WithOnAccept callbacks are called in the order given. WithOnAccept
// panics if f is nil.
func WithOnAccept(f func(Accepted)) ServerOption {
	if f == nil {
		panic("dynamotest: WithOnAccept: nil callback")
	}
	return func(c *serverConfig) { c.onAccept = append(c.onAccept, f) }
}

func defaultConfig() serverConfig {
	return serverConfig{
		tenantID:       defaultTenantID,
		apiKey:         randomHex(16),
		now:            time.Now,
		apiTermMax:     defaultAPITermMax,
		signingTermMax: defaultSigningTermMax,
	}
}
