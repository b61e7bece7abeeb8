package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// process is what a run of the tool takes from the process it runs in.
type process struct {
	args           []string // without the program name
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string // looks up environment variables; nil means os.Getenv
	signals        <-chan os.Signal    // SIGINT and SIGTERM as they arrive; nil for none
	// ownsRuntime lets a command tune the Go runtime (bulk bounds the heap):
	// set by main, not by tests, which run many commands in one process.
	ownsRuntime bool
}

// app is one run of the command: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string
	interrupts     interrupts
	ownsRuntime    bool

	// Global flags.
	fake         bool
	jsonOut      bool
	verbose      bool
	progressMode string
	sfOrg        string        // --sf-org: a Salesforce CLI org, as DYNAMO_SF_ORG
	pollInterval time.Duration // hidden: how often wait polls at first
	fakeDelay    time.Duration // hidden: how long the fake takes to complete a task

	fakeServer *dynamotest.Server // started by client() with --fake
	apiClient  *dynamo.Client     // made by client()
}

// run executes the command line and returns the process's exit code. The
// first signal cancels the command, unless the command handles signals
// itself (see interrupts).
func run(ctx context.Context, p process) int {
	if p.env == nil {
		p.env = os.Getenv
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &app{stdin: p.stdin, stdout: p.stdout, stderr: p.stderr, env: p.env, ownsRuntime: p.ownsRuntime}
	a.interrupts.handle(func(os.Signal) { cancel() })
	defer a.interrupts.listen(p.signals)()
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(p.args)
	root.SetIn(p.stdin)
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	return a.exitCode(root.ExecuteContext(ctx))
}

// exitCode reports err on stderr and turns it into an exit code. An error that
// does not come from a command's own code is cobra's: bad usage.
func (a *app) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(a.stderr, "dynamo: %s\nRun 'dynamo --help' for usage.\n", printable(err.Error()))
		return exitUsage
	}
	if ee.err != nil {
		msg := ee.err.Error()
		if !strings.HasPrefix(msg, "dynamo: ") {
			msg = "dynamo: " + msg
		}
		// A message may quote the server: keep it from steering the terminal.
		lines := strings.Split(msg, "\n")
		for i, l := range lines {
			lines[i] = printable(l)
		}
		fmt.Fprintln(a.stderr, strings.Join(lines, "\n"))
	}
	return ee.code
}

// close releases what the run holds: the client's idle connections and the
// fake server.
func (a *app) close() {
	if a.apiClient != nil {
		a.apiClient.CloseIdleConnections()
	}
	if a.fakeServer != nil {
		a.fakeServer.Close()
	}
}

const rootLong = `dynamo posts batches to the Dynamo batch API, and single tasks to its Task API,
and follows them.

Credentials come only from the environment: DYNAMO_TENANT_ID and DYNAMO_API_KEY
(and DYNAMO_BASE_URL for another API host). A Salesforce session, when the
template needs one, comes from one of these sources, in this order, each a
complete set of variables (two at once is an error):

  1. a fixed session: DYNAMO_SF_SESSION_ID and DYNAMO_SF_SERVER_URL;
  2. the JWT bearer flow: DYNAMO_SF_CLIENT_ID, DYNAMO_SF_USERNAME,
     DYNAMO_SF_JWT_KEY_FILE, DYNAMO_SF_LOGIN_URL (https://login.salesforce.com
     when not set), DYNAMO_SF_AUDIENCE (optional);
  3. the client credentials flow: DYNAMO_SF_CLIENT_ID, DYNAMO_SF_CLIENT_SECRET,
     DYNAMO_SF_LOGIN_URL (the org's My Domain URL);
  4. the Salesforce CLI: DYNAMO_SF_ORG, or --sf-org.

A session from a flow or the CLI is renewed when older than
DYNAMO_SF_SESSION_MAX_AGE (10m unless set), so that every post, and every
chunk of a long bulk job, carries a fresh one. 'dynamo auth' shows where the
session comes from and whose it is; 'dynamo auth --help' says more.

With --fake a command runs against a fake server instead of the API. When
DYNAMO_FAKE_URL is set (one of the lines that 'dynamo fake' prints), that
running fake is used, with the DYNAMO_TENANT_ID and DYNAMO_API_KEY it
printed: it keeps every batch and task for as long as it runs, so every
command works, and follow-ups in later runs find what earlier runs posted.
Otherwise --fake starts an in-process fake that lives for this one run only:
its tasks complete on their own after a moment, each with one result file,
and it keeps nothing afterwards. Then "post --fake --wait", "task post --fake
--wait" and "bulk --fake" are the useful ones; status, wait, results and the
task status, wait and results commands refuse to run, since a new fake knows
no batch or task: start 'dynamo fake' for them.

With --fake and an in-process fake, no Salesforce credentials are read:
nothing leaves the machine. A running 'dynamo fake' prints a client
credentials set of its own fake Salesforce login host, which posts then use.

An interrupt (Ctrl-C, or SIGTERM) cancels a command; "dynamo bulk" stops
gracefully instead (see 'dynamo bulk --help').

Exit codes: 0 done without errors, 1 a call failed, 2 bad usage or input,
3 the batch or task completed but some tasks had errors.`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "dynamo",
		Short:         "Post Dynamo batches and tasks and follow them",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		// The tool is released with the SDK, under the same version.
		Version: dynamo.Version,
	}
	root.SetVersionTemplate("dynamo {{.Version}} (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v (see '%s --help')", c.Name(), err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.BoolVar(&a.fake, "fake", false, "run against the dynamo fake that DYNAMO_FAKE_URL names, or else an in-process fake for this run only (see 'dynamo --help')")
	pf.BoolVar(&a.jsonOut, "json", false, "print the result as JSON on stdout")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log every request (never a credential) on stderr")
	pf.StringVar(&a.progressMode, "progress", "auto", "progress display on stderr: auto, bar, plain or none")
	pf.StringVar(&a.sfOrg, "sf-org", "", "Salesforce CLI `org` (alias or username) whose session posts carry, as DYNAMO_SF_ORG")
	pf.DurationVar(&a.pollInterval, "poll-interval", defaultPollInterval, "first wait between two status calls")
	pf.DurationVar(&a.fakeDelay, "fake-delay", 1500*time.Millisecond, "with --fake, how long a task takes to complete")
	_ = pf.MarkHidden("poll-interval")
	_ = pf.MarkHidden("fake-delay")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		switch a.progressMode {
		case "auto", "bar", "plain", "none":
		default:
			return usageErrorf("--progress %q: must be auto, bar, plain or none", a.progressMode)
		}
		if a.pollInterval <= 0 {
			return usageErrorf("--poll-interval must be positive")
		}
		return a.checkFakeFollowUp(c)
	}
	root.AddCommand(a.postCommand(), a.statusCommand(), a.waitCommand(), a.resultsCommand(), a.bulkCommand(), a.taskCommand(), a.fakeCommand(), a.authCommand())
	return root
}

// followUps are the commands that read a batch or task posted before: an
// in-process fake, new for the run, cannot know it.
var followUps = map[string]bool{
	"dynamo status": true, "dynamo wait": true, "dynamo results": true,
	"dynamo task status": true, "dynamo task wait": true, "dynamo task results": true,
}

// checkFakeFollowUp refuses a follow-up command with --fake when no running
// fake is named: it could only fail with "not found".
func (a *app) checkFakeFollowUp(c *cobra.Command) error {
	if !a.fake || a.env(envFakeURL) != "" || !followUps[c.CommandPath()] {
		return nil
	}
	return usageErrorf("%s --fake: without a running fake (%s is not set), --fake starts a new, empty one for this run, which knows no batch or task. "+
		"Start 'dynamo fake' in another terminal, export the lines it prints, and run this again",
		strings.TrimPrefix(c.CommandPath(), "dynamo "), envFakeURL)
}

// inProcessFake reports whether the run uses a fake of its own, which
// forgets everything when the run ends.
func (a *app) inProcessFake() bool { return a.fake && a.env(envFakeURL) == "" }

// runE adapts a command's function: an error that carries no exit code is a
// failed call (exit code 1).
func runE(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		err := fn(c.Context(), args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return &exitError{code: exitFailed, err: err}
	}
}

// usageArgs makes an argument check's failure bad usage.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usageErrorf("%s: %v (usage: %s)", c.Name(), err, c.UseLine())
		}
		return nil
	}
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
