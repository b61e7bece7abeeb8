package salesforce_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/salesforce"
)

// The CLI's answers, as sf prints them with --json.
const (
	cliToken   = testOrg + "!" + accessTokenMark + "-from-the-cli"
	displayFmt = `{"status":0,"result":{"id":"%s","apiVersion":"62.0","accessToken":"%s","instanceUrl":"%s","username":"dev@example.com","clientId":"PlatformCLI","connectedStatus":"Connected","alias":"my-org"},"warnings":[]}`
	showToken  = `{"status":0,"result":{"accessToken":"%s","instanceUrl":"%s","username":"dev@example.com"},"warnings":[]}`
	noAuth     = `{"status":1,"name":"NoAuthInfoFound","message":"No authorization information found for %s.","exitCode":1,"commandName":"OrgDisplayCommand","warnings":[]}`
)

// stubCLI puts an executable sf first on PATH that answers org display
// with display and org auth show-access-token with show ("" for a CLI
// without that command), and logs its arguments.
func stubCLI(t *testing.T, display, show string) (log func() []string) {
	t.Helper()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "calls.log")
	// answer prints body from a file, exiting 1 for an error's JSON; a
	// body "exit N" prints nothing and exits N.
	answer := func(name, body string) string {
		if strings.HasPrefix(body, "exit ") {
			return body
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body+"\n"), 0o600))
		if strings.Contains(body, `"status":1`) {
			return fmt.Sprintf("cat %q; exit 1", path)
		}
		return fmt.Sprintf("cat %q", path)
	}
	showCase := `echo "Warning: org auth show-access-token is not a sf command." >&2; exit 127`
	if show != "" {
		showCase = answer("show.json", show)
	}
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
case "$1 $2 $3" in
"org display --target-org") %s ;;
"org auth show-access-token") %s ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
`, logFile, answer("display.json", display), showCase)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sf"), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		data, _ := os.ReadFile(logFile)
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
}

func TestCLICurrentFormRedactsDisplay(t *testing.T) {
	for _, redactedToken := range []string{"[REDACTED]", "", "********", "00D5g000004QpXy![REDACTED]"} {
		t.Run(redactedToken, func(t *testing.T) {
			calls := stubCLI(t, fmt.Sprintf(displayFmt, testOrg18, redactedToken, testInstanceURL), fmt.Sprintf(showToken, cliToken, testInstanceURL))
			src, err := salesforce.CLI("my-org")
			require.NoError(t, err)
			s, err := src.Session(context.Background())
			require.NoError(t, err)
			assert.Equal(t, cliToken, s.ID, "the session is show-access-token's")
			assert.Equal(t, testInstanceURL, s.ServerURL)
			id, err := src.Identity(context.Background())
			require.NoError(t, err)
			assert.Equal(t, salesforce.Identity{Origin: "Salesforce CLI", OrgID: testOrg18, Username: "dev@example.com", InstanceURL: testInstanceURL}, id)
			assert.Equal(t, []string{
				"org display --target-org my-org --json",
				"org auth show-access-token --target-org my-org --json",
			}, calls())
		})
	}
}

func TestCLIOlderWithoutShowAccessToken(t *testing.T) {
	stubCLI(t, fmt.Sprintf(displayFmt, testOrg18, cliToken, testInstanceURL), "")
	src, err := salesforce.CLI("my-org")
	require.NoError(t, err)
	s, err := src.Session(context.Background())
	require.NoError(t, err)
	assert.Equal(t, cliToken, s.ID, "an older CLI's display gives the token unredacted")
}

func TestCLIRedactedTokenRefused(t *testing.T) {
	for name, tc := range map[string]struct{ display, show, want string }{
		"display redacted, no show-access-token": {
			fmt.Sprintf(displayFmt, testOrg18, "[REDACTED]", testInstanceURL), "", "redacts the access token",
		},
		"display redacted after the org ID, no show-access-token": {
			fmt.Sprintf(displayFmt, testOrg18, testOrg+"![REDACTED]", testInstanceURL), "", "redacts the access token",
		},
		"display masked after the org ID, no show-access-token": {
			fmt.Sprintf(displayFmt, testOrg18, testOrg+"!********", testInstanceURL), "", "redacts the access token",
		},
		"show-access-token redacted after the org ID": {
			fmt.Sprintf(displayFmt, testOrg18, "[REDACTED]", testInstanceURL), fmt.Sprintf(showToken, testOrg+"![REDACTED]", testInstanceURL), "no usable access token",
		},
		"show-access-token redacted too": {
			fmt.Sprintf(displayFmt, testOrg18, "[REDACTED]", testInstanceURL), fmt.Sprintf(showToken, "[REDACTED]", testInstanceURL), "no usable access token",
		},
		"unknown org": {
			fmt.Sprintf(noAuth, "nope"), fmt.Sprintf(showToken, cliToken, testInstanceURL), "NoAuthInfoFound: No authorization information found for nope.",
		},
		"error output echoing a token": {
			`{"status":1,"name":"Boom","message":"failed with ` + cliToken + `"}`, "", "Boom: failed with [REDACTED]",
		},
		"not JSON": {"exit 3", "", "sf org display failed: exit status 3"},
	} {
		t.Run(name, func(t *testing.T) {
			stubCLI(t, tc.display, tc.show)
			src, err := salesforce.CLI("nope")
			require.NoError(t, err)
			_, err = src.Session(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "Salesforce CLI")
			assertNoSecret(t, "error", err, cliToken)
		})
	}
}

func TestCLINotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	src, err := salesforce.CLI("my-org")
	require.NoError(t, err)
	_, err = src.Session(context.Background())
	assert.ErrorContains(t, err, "not on PATH")
	_, err = salesforce.CLI("")
	assert.Error(t, err)
	_, err = salesforce.CLI("--target-org=x")
	assert.Error(t, err, "an org that would read as a flag")
}

// A CLI that hangs costs a post no more than the post's context, even when
// a child of it keeps its output open after it is killed (sf is a script
// that starts node): the mint ends soon after its callers leave, and the
// next caller's session is minted afresh rather than waiting for that
// child.
func TestCLIHangingLeftWithItsCaller(t *testing.T) {
	calls := stubCLI(t, fmt.Sprintf(displayFmt, testOrg18, "[REDACTED]", testInstanceURL), fmt.Sprintf(showToken, cliToken, testInstanceURL))
	sfPath := filepath.Join(strings.SplitN(os.Getenv("PATH"), string(os.PathListSeparator), 2)[0], "sf")
	gate := filepath.Join(t.TempDir(), "hang")
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	script, err := os.ReadFile(sfPath)
	require.NoError(t, err)
	// While the gate exists, sf waits on a child that holds its output.
	hanging := strings.Replace(string(script), "#!/bin/sh\n", fmt.Sprintf("#!/bin/sh\nif [ -e %q ]; then sleep 40; fi\n", gate), 1)
	require.NoError(t, os.WriteFile(sfPath, []byte(hanging), 0o755))

	src, err := salesforce.CLI("my-org")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = src.Session(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, os.Remove(gate))
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := src.Session(ctx)
	require.NoError(t, err, "the next caller does not wait for the hung CLI's child")
	assert.Equal(t, cliToken, s.ID)
	assert.Contains(t, calls(), "org auth show-access-token --target-org my-org --json")
}

// A hung sf fails the mint once a run of it has taken too long, even for a
// caller whose context never ends: a CLI source is bounded as the token
// requests of the flows are.
func TestCLIHangingBounded(t *testing.T) {
	stubCLI(t, fmt.Sprintf(displayFmt, testOrg18, "[REDACTED]", testInstanceURL), fmt.Sprintf(showToken, cliToken, testInstanceURL))
	sfPath := filepath.Join(strings.SplitN(os.Getenv("PATH"), string(os.PathListSeparator), 2)[0], "sf")
	script, err := os.ReadFile(sfPath)
	require.NoError(t, err)
	hanging := strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\nsleep 40\n", 1)
	require.NoError(t, os.WriteFile(sfPath, []byte(hanging), 0o755))

	src, err := salesforce.CLI("my-org", salesforce.WithCLITimeout(300*time.Millisecond))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := src.Session(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not end")
		assert.Contains(t, err.Error(), "sf org display")
		assert.Contains(t, err.Error(), "did not answer within 300ms")
	case <-time.After(20 * time.Second):
		t.Fatal("a hung sf holds the caller")
	}
}
