package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
)

// CLI returns a source whose sessions are those of an org authorised in the
// Salesforce CLI (sf org login web, or sf org login jwt): org is its alias
// or username. Each new session runs
//
//	sf org display --target-org <org> --json
//
// for the instance URL, username and org ID (the CLI refreshes the session
// first when it must), and
//
//	sf org auth show-access-token --target-org <org> --json
//
// for the session itself: since plugin-org 6.0, org display redacts the
// access token. With an older CLI, which has no show-access-token, the token
// that org display gives is used, but never a redacted one: a token that is
// not a Salesforce session (an org ID, "!", and the rest) is refused. The
// executable "sf" is looked for in the directories of PATH when a session is
// first needed. A run of sf that takes longer than 2 minutes fails the
// mint.
func CLI(org string, opts ...Option) (*Source, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if org == "" {
		return nil, configErr(errors.New("salesforce: CLI: no org (an alias or username the Salesforce CLI knows)"))
	}
	if strings.HasPrefix(org, "-") {
		return nil, configErr(fmt.Errorf("salesforce: CLI: org %q begins with '-'", org))
	}
	return newSource("Salesforce CLI", org, o, func(ctx context.Context, _ *http.Client) (minted, error) {
		return cliSession(ctx, org, o.cliTimeout)
	}), nil
}

// cliResult is the part of the CLI's JSON output that is read: the result
// of either command, or an error.
type cliResult struct {
	Status  int    `json:"status"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Result  struct {
		AccessToken string `json:"accessToken"`
		InstanceURL string `json:"instanceUrl"`
		Username    string `json:"username"`
		ID          string `json:"id"`    // org display: the org ID
		OrgID       string `json:"orgId"` // show-access-token, in some versions
	} `json:"result"`
}

func cliSession(ctx context.Context, org string, timeout time.Duration) (minted, error) {
	display, err := runCLI(ctx, timeout, "org", "display", "--target-org", org, "--json")
	if err != nil {
		return minted{}, err
	}
	d := display.Result
	if d.InstanceURL == "" {
		return minted{}, fmt.Errorf("sf org display gave no instance URL for %q", org)
	}
	id := Identity{Origin: "Salesforce CLI", OrgID: d.ID, Username: d.Username, InstanceURL: d.InstanceURL}
	token, tokenErr := runCLI(ctx, timeout, "org", "auth", "show-access-token", "--target-org", org, "--json")
	var session string
	switch {
	case tokenErr == nil && isSession(token.Result.AccessToken):
		session = token.Result.AccessToken
		if token.Result.InstanceURL != "" {
			id.InstanceURL = token.Result.InstanceURL
		}
	case tokenErr == nil:
		return minted{}, errors.New("sf org auth show-access-token gave no usable access token (a redacted one?)")
	case isSession(d.AccessToken): // an older CLI, which does not redact
		session = d.AccessToken
	case ctx.Err() != nil:
		return minted{}, ctx.Err()
	default:
		return minted{}, fmt.Errorf("%w; sf org display redacts the access token, so it cannot be used instead: update the Salesforce CLI", tokenErr)
	}
	if id.OrgID == "" {
		id.OrgID = sessionOrg(session)
	}
	return minted{session: dynamo.Session{ID: session, ServerURL: id.InstanceURL}, identity: id}, nil
}

// isSession reports whether token is a Salesforce session rather than a
// redacted placeholder: an org ID, "!", and more of the characters a
// session is made of, so that neither "[REDACTED]" nor "****" passes, with
// or without the org ID before it.
func isSession(token string) bool {
	if sessionOrg(token) == "" {
		return false
	}
	for _, c := range token[16:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cliWaitDelay is how long the output of a killed or ended sf is waited for.
const cliWaitDelay = 2 * time.Second

// maxCLIOutput bounds what is read of the CLI's output.
const maxCLIOutput = 1 << 20

// runCLI runs sf with args and reads its JSON answer, failing when sf takes
// longer than timeout. Its error never holds a session: only the CLI's
// error name and message, cleaned.
func runCLI(ctx context.Context, timeout time.Duration, args ...string) (*cliResult, error) {
	what := "sf " + strings.Join(args[:len(args)-3], " ")
	path, err := exec.LookPath("sf")
	if err != nil {
		return nil, fmt.Errorf("the Salesforce CLI (sf) is not on PATH: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, path, args...)
	// sf is a script that starts node: once sf is killed, or has ended, a
	// child of it that still holds its output does not keep the mint (and
	// every later one) waiting.
	cmd.WaitDelay = cliWaitDelay
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = maxCLIOutput, 4<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if errors.Is(runErr, exec.ErrWaitDelay) {
		runErr = nil // sf succeeded; a child of it kept the output open
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if rctx.Err() != nil {
		return nil, fmt.Errorf("%s did not answer within %v", what, timeout)
	}
	var res cliResult
	decodeErr := json.Unmarshal(stdout.Bytes(), &res)
	switch {
	case decodeErr == nil && (runErr != nil || res.Status != 0):
		msg := res.Message
		if res.Name != "" {
			msg = res.Name + ": " + msg
		}
		return nil, fmt.Errorf("%s failed: %s", what, secrets(nil).clean(msg))
	case runErr != nil:
		return nil, fmt.Errorf("%s failed: %v: %s", what, runErr, secrets(nil).clean(stderr.String()))
	case decodeErr != nil:
		return nil, fmt.Errorf("%s: its output is not the JSON expected: %v", what, decodeErr)
	}
	return &res, nil
}

// limitedBuffer keeps the first limit bytes written to it and drops the
// rest.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
