package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// Exit codes.
const (
	exitOK         = 0 // everything done, no task errors
	exitFailed     = 1 // a call failed
	exitUsage      = 2 // bad usage or input
	exitTaskErrors = 3 // the batch completed, but some tasks had errors
)

// Environment variables of the Salesforce session; the credentials' names
// are the SDK's (dynamo.EnvTenantID, dynamo.EnvAPIKey, dynamo.EnvBaseURL).
const (
	envSFSessionID = "DYNAMO_SF_SESSION_ID"
	envSFServerURL = "DYNAMO_SF_SERVER_URL"
)

// exitError carries the exit code a command ends with. A nil err ends with
// code and no message (the command has already said what happened).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as bad usage or input (exit code 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// usageErrorf is usageErr of a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageErr(fmt.Errorf(format, args...))
}

// errTaskErrors ends a command that has reported task errors (exit code 3).
var errTaskErrors = &exitError{code: exitTaskErrors}

// app is one run of the command: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string

	// Global flags.
	fake         bool
	jsonOut      bool
	verbose      bool
	progressMode string
	pollInterval time.Duration // hidden: how often wait polls at first
	fakeDelay    time.Duration // hidden: how long the fake takes to complete a task

	fakeServer *dynamotest.Server // started by client() with --fake
	apiClient  *dynamo.Client     // made by client()
}

// run executes the command line args (without the program name) and returns
// the process's exit code. env looks up environment variables; nil means
// os.Getenv.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	if env == nil {
		env = os.Getenv
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
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

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dynamo",
		Short: "Post Dynamo batches and follow them",
		Long: `dynamo posts batches to the Dynamo batch API and follows them.

Credentials come only from the environment: DYNAMO_TENANT_ID and DYNAMO_API_KEY
(and DYNAMO_BASE_URL for another API host). A Salesforce session, when the
template needs one, comes from DYNAMO_SF_SESSION_ID and DYNAMO_SF_SERVER_URL.

With --fake a command runs against an in-process fake server instead: tasks
complete on their own after a moment, each with one result file. Each run
starts a new, empty fake, so "post --fake --wait" and "bulk --fake" are the
useful ones; status, wait and results with --fake only know batches posted in
the same process.

Exit codes: 0 done without errors, 1 a call failed, 2 bad usage or input,
3 the batch completed but some tasks had errors.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v (see '%s --help')", c.Name(), err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.BoolVar(&a.fake, "fake", false, "run against an in-process fake server instead of the API")
	pf.BoolVar(&a.jsonOut, "json", false, "print the result as JSON on stdout")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log every request (never a credential) on stderr")
	pf.StringVar(&a.progressMode, "progress", "auto", "progress display on stderr: auto, bar, plain or none")
	pf.DurationVar(&a.pollInterval, "poll-interval", dynamo.DefaultPollInterval, "first wait between two status calls")
	pf.DurationVar(&a.fakeDelay, "fake-delay", 1500*time.Millisecond, "with --fake, how long a task takes to complete")
	_ = pf.MarkHidden("poll-interval")
	_ = pf.MarkHidden("fake-delay")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		switch a.progressMode {
		case "auto", "bar", "plain", "none":
		default:
			return usageErrorf("--progress %q: must be auto, bar, plain or none", a.progressMode)
		}
		if a.pollInterval <= 0 {
			return usageErrorf("--poll-interval must be positive")
		}
		return nil
	}
	root.AddCommand(a.postCommand(), a.statusCommand(), a.waitCommand(), a.resultsCommand(), a.bulkCommand())
	return root
}

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

// client returns a client for the API, with credentials from the environment,
// or for a new in-process fake server with --fake.
func (a *app) client() (*dynamo.Client, error) {
	if a.apiClient != nil {
		return a.apiClient, nil
	}
	c, err := a.newClient()
	a.apiClient = c
	return c, err
}

func (a *app) newClient() (*dynamo.Client, error) {
	opts := []dynamo.Option{dynamo.WithUserAgent("dynamo-cli/" + dynamo.Version)}
	if a.verbose {
		opts = append(opts, dynamo.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if a.fake {
		if a.fakeServer == nil {
			a.fakeServer = dynamotest.NewServer(
				dynamotest.WithAutoComplete(a.fakeDelay),
				dynamotest.WithResultFiles("Document"),
			)
			fmt.Fprintf(a.stderr, "dynamo: --fake: using an in-process fake server at %s; nothing leaves this machine\n", a.fakeServer.URL)
		}
		opts = append(opts, dynamo.WithBaseURL(a.fakeServer.URL))
		return dynamo.NewClient(a.fakeServer.TenantID, a.fakeServer.APIKey, opts...)
	}
	return a.clientFromEnv(opts)
}

// clientFromEnv reads the credentials the way dynamo.NewClientFromEnv does,
// through a.env so that tests need not touch the process environment.
func (a *app) clientFromEnv(opts []dynamo.Option) (*dynamo.Client, error) {
	tenant, key := a.env(dynamo.EnvTenantID), a.env(dynamo.EnvAPIKey)
	if tenant == "" || key == "" {
		return nil, usageErrorf("no credentials: set %s and %s in the environment (they are never taken from flags), or try the tool with --fake",
			dynamo.EnvTenantID, dynamo.EnvAPIKey)
	}
	if u := a.env(dynamo.EnvBaseURL); u != "" {
		opts = append([]dynamo.Option{dynamo.WithBaseURL(u)}, opts...)
	}
	c, err := dynamo.NewClient(tenant, key, opts...)
	if err != nil {
		return nil, usageErrorf("%v (check %s, %s and %s)", err, dynamo.EnvTenantID, dynamo.EnvAPIKey, dynamo.EnvBaseURL)
	}
	return c, nil
}

// integration returns the Salesforce session from the environment, nil when
// none is set.
func (a *app) integration() (*dynamo.Integration, error) {
	session, server := a.env(envSFSessionID), a.env(envSFServerURL)
	switch {
	case session == "" && server == "":
		return nil, nil
	case session == "" || server == "":
		return nil, usageErrorf("a Salesforce session needs both %s and %s", envSFSessionID, envSFServerURL)
	}
	return dynamo.Salesforce(session, server), nil
}

// waitOptions are WaitBatch's options for the poll interval flag, the
// maximum scaled like the SDK's defaults.
func (a *app) waitOptions(progress func(*dynamo.BatchStatus)) []dynamo.WaitOption {
	maxInterval := a.pollInterval * (dynamo.DefaultMaxPollInterval / dynamo.DefaultPollInterval)
	return []dynamo.WaitOption{
		dynamo.WithPollInterval(a.pollInterval),
		dynamo.WithMaxPollInterval(maxInterval),
		dynamo.WithProgress(progress),
	}
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// callErr describes a failed call in words a user can act on; the SDK's
// errors never contain the API key or the session ID. The result still
// matches err with errors.Is.
func callErr(what string, err error) error {
	msg := what + ": " + strings.TrimPrefix(err.Error(), "dynamo: ")
	switch {
	case errors.Is(err, context.Canceled):
		msg = what + ": interrupted"
	case errors.Is(err, dynamo.ErrUnauthorized):
		msg += fmt.Sprintf(" (check %s and %s)", dynamo.EnvTenantID, dynamo.EnvAPIKey)
	case errors.Is(err, dynamo.ErrNotFound):
		msg += " (unknown, or posted more than 24 hours ago)"
	}
	return &describedError{msg: msg, err: err}
}

// describedError is err with a message of its own.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }
