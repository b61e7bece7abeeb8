package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

// The variables "dynamo fake" prints beside the SDK's credentials: where the fake
// is (which --fake looks for), and the fake Salesforce login host's client
// credentials app, as the tool's source chain reads them (salesforce.FromLookup).
const (
	envFakeURL        = "DYNAMO_FAKE_URL"
	envSFLoginURL     = salesforce.EnvLoginURL
	envSFClientID     = salesforce.EnvClientID
	envSFClientSecret = salesforce.EnvClientSecret
)

// fakeTenantID is the tenant the fake accepts unless --tenant-id says otherwise:
// dynamotest's default, an org ID whose org the fake Salesforce issues sessions of.
const fakeTenantID = "00D000000000001AAA"

// fakeUser is the Salesforce user the fake's client credentials app runs as.
const fakeUser = "integration@dynamo-fake.invalid"

type fakeFlags struct {
	addr, storageAddr string
	autoComplete      time.Duration
	resultFiles       []string
	tenantID, apiKey  string
	apiTermMax        int
	signingTermMax    int
	checkSessions     bool
}

const fakeLong = `Run the fake Dynamo API (package dynamotest) as a server of its own, until
interrupted (Ctrl-C or SIGTERM; exit code 0).

It prints, on stdout, the variables that point the tool, the SDK, or any
client at it:

  export DYNAMO_BASE_URL=http://127.0.0.1:PORT
  export DYNAMO_TENANT_ID=00D000000000001AAA
  export DYNAMO_API_KEY=...
  export DYNAMO_FAKE_URL=http://127.0.0.1:PORT
  export DYNAMO_SF_LOGIN_URL=http://127.0.0.1:PORT2
  export DYNAMO_SF_CLIENT_ID=...
  export DYNAMO_SF_CLIENT_SECRET=...

Paste them into another terminal, or let a script read them (for instance
'dynamo fake > fake.env &', then '. ./fake.env' once the lines are there), and
every later command there uses the fake; with --json they are one JSON
object instead. The API key and the client secret are the fake's own, made
up for this run: never a real one.

The fake keeps its batches and tasks for the life of the process, so post,
status, wait, results and the task commands all work against it, from any
number of processes. Tasks stay queued until they are driven through the
control API at $DYNAMO_FAKE_URL/_dynamotest/ (complete or fail a task, seed,
inject faults, list the requests received, reset, move the clock; see the
dynamotest package doc), or until --auto-complete has passed.

The DYNAMO_SF_ variables are those of a fake Salesforce login host: a
connected app for the client credentials flow, whose sessions are of the
tenant's org. DYNAMO_SF_LOGIN_URL, DYNAMO_SF_CLIENT_ID and
DYNAMO_SF_CLIENT_SECRET are the tool's client credentials set (see 'dynamo
auth --help'): once exported, the posts of later commands carry sessions the
fake login host issued, fresh for each post. With --check-sessions the fake
judges the session of every post as Dynamo does: a task whose session that
host did not issue, or whose session expired, fails with INVALID_SESSION_ID.

The fake serves plain HTTP and its control API takes no credentials: keep it
on a loopback address. The SDK sends credentials over plain HTTP only to a
loopback host.`

func (a *app) fakeCommand() *cobra.Command {
	var f fakeFlags
	c := &cobra.Command{
		Use:   "fake",
		Short: "Run the fake Dynamo API as a server, for tests in any language",
		Long:  fakeLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error {
			return a.runFake(ctx, &f)
		}),
	}
	fs := c.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:0", "the API's `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&f.storageAddr, "storage-addr", "127.0.0.1:0", "the `address` of the storage host that serves result files")
	fs.DurationVar(&f.autoComplete, "auto-complete", 0, "complete every task that is not driven this long after its posting (0: never)")
	fs.StringSliceVar(&f.resultFiles, "result-files", []string{"Document"}, "the result file `IDs` of every auto-completed task")
	fs.StringVar(&f.tenantID, "tenant-id", fakeTenantID, "the tenant ID the fake accepts")
	fs.StringVar(&f.apiKey, "api-key", "", "the API key the fake accepts (default: made up for the run)")
	fs.IntVar(&f.apiTermMax, "api-term-max", 10000, "the licence limit of Task API calls that task posts report (usage.api.termMax)")
	fs.IntVar(&f.signingTermMax, "signing-term-max", 1000, "the licence limit of signatures that task posts report (usage.signing.termMax)")
	fs.BoolVar(&f.checkSessions, "check-sessions", false, "fail the tasks of a post whose Salesforce session the fake login host did not issue or that expired")
	return c
}

// options checks the flags and returns the server options they set.
func (f *fakeFlags) options() ([]dynamotest.ServerOption, error) {
	switch {
	case f.autoComplete < 0:
		return nil, usageErrorf("--auto-complete must not be negative")
	case f.apiTermMax < 0 || f.signingTermMax < 0:
		return nil, usageErrorf("--api-term-max and --signing-term-max must not be negative")
	}
	for _, v := range []struct{ flag, value string }{{"--tenant-id", f.tenantID}, {"--api-key", f.apiKey}} {
		if v.value == "" && v.flag == "--api-key" {
			continue
		}
		if v.value == "" || strings.ContainsFunc(v.value, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\'' }) {
			return nil, usageErrorf("%s: must be non-empty, without spaces, quotes or control characters", v.flag)
		}
	}
	seen := make(map[string]bool)
	for _, id := range f.resultFiles {
		if id == "" || seen[id] {
			return nil, usageErrorf("--result-files %q: IDs must be non-empty and distinct", strings.Join(f.resultFiles, ","))
		}
		seen[id] = true
	}
	key := f.apiKey
	if key == "" {
		key = randomHex(16)
	}
	return []dynamotest.ServerOption{
		dynamotest.WithCredentials(f.tenantID, key),
		dynamotest.WithAutoComplete(f.autoComplete),
		dynamotest.WithResultFiles(f.resultFiles...),
		dynamotest.WithUsageLimits(f.apiTermMax, f.signingTermMax),
	}, nil
}

// runFake serves the fake until ctx ends, which the first interrupt does.
func (a *app) runFake(ctx context.Context, f *fakeFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	apiL, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("fake: --addr %s: %w", f.addr, err)
	}
	storageL, err := net.Listen("tcp", f.storageAddr)
	if err != nil {
		apiL.Close()
		return fmt.Errorf("fake: --storage-addr %s: %w", f.storageAddr, err)
	}

	// Both fakes judge sessions on one clock: the server's, which the control
	// API can move.
	var srv atomic.Pointer[dynamotest.Server]
	clock := func() time.Time {
		if s := srv.Load(); s != nil {
			return s.Now()
		}
		return time.Now()
	}
	sf := dynamotest.NewSalesforce(dynamotest.WithSalesforceClock(clock), dynamotest.WithOrgID(orgOf(f.tenantID)))
	defer sf.Close()
	clientID, clientSecret := "3MVG9fake"+randomHex(12), randomHex(24)
	sf.AddUser(fakeUser)
	sf.AddClientCredentialsApp(clientID, clientSecret, fakeUser)
	if f.checkSessions {
		opts = append(opts, dynamotest.WithSalesforce(sf))
	}
	opts = append(opts, dynamotest.WithListeners(apiL, storageL))
	s := dynamotest.NewServer(opts...)
	srv.Store(s)
	defer s.Close()

	vars := [][2]string{
		{dynamo.EnvBaseURL, s.URL},
		{dynamo.EnvTenantID, s.TenantID},
		{dynamo.EnvAPIKey, s.APIKey},
		{envFakeURL, s.URL},
		{envSFLoginURL, sf.URL},
		{envSFClientID, clientID},
		{envSFClientSecret, clientSecret},
	}
	if a.jsonOut {
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v[0]] = v[1]
		}
		if err := a.printJSON(m); err != nil {
			return err
		}
	} else {
		printExports(a.stdout, vars)
	}
	fmt.Fprintf(a.stderr, "dynamo fake: the Dynamo API at %s, result files at %s, a Salesforce login host at %s\n", s.URL, s.StorageURL, sf.URL)
	fmt.Fprintf(a.stderr, "dynamo fake: control API at %s%s; ", s.URL, dynamotest.ControlPrefix)
	if f.autoComplete > 0 {
		fmt.Fprintf(a.stderr, "tasks complete on their own after %v\n", f.autoComplete)
	} else {
		fmt.Fprintf(a.stderr, "tasks stay queued until completed through it (or start with --auto-complete 2s)\n")
	}
	fmt.Fprintf(a.stderr, "dynamo fake: state is kept until it stops; stop it with Ctrl-C\n")

	<-ctx.Done()
	s.Close()
	sf.Close()
	fmt.Fprintln(a.stderr, "dynamo fake: stopped")
	return nil
}

// orgOf returns the org ID a tenant ID names, for the fake Salesforce's sessions;
// the fake's default org when the tenant is not an org ID (as isOrgID, which
// the session check uses, says).
func orgOf(tenantID string) string {
	if isOrgID(tenantID) {
		return tenantID[:15]
	}
	return fakeTenantID[:15]
}

// printExports writes one shell export line a variable, all in one write, so
// that a reader of a pipe gets them together.
func printExports(w io.Writer, vars [][2]string) {
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
	}
	_, _ = io.WriteString(w, b.String())
}

// shellQuote is s as a POSIX shell word: as it is when every character is
// one the shell takes literally (the fake's own URLs, IDs and keys), else in
// single quotes, so that an --api-key or --tenant-id given with "$", ";" or
// "`" is exported as it was given, never run.
func shellQuote(s string) string {
	plain := s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_./:@%+,=", r))
	})
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// randomHex returns n random bytes as 2n hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
