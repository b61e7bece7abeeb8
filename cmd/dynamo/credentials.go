package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

// credentialsHelp says where a post's Salesforce session comes from: the
// chain that salesforce.FromLookup reads, in its order. Posting commands and
// 'dynamo auth' show it in their help.
const credentialsHelp = `A Salesforce session, when the template needs one, comes from one of these
sets of environment variables, in the chain's order (give one set, complete):

  1. a fixed session: DYNAMO_SF_SESSION_ID and DYNAMO_SF_SERVER_URL, used as
     they are, never renewed;
  2. the JWT bearer flow: DYNAMO_SF_CLIENT_ID (the connected app's consumer
     key), DYNAMO_SF_USERNAME, DYNAMO_SF_JWT_KEY_FILE (the PEM file of the
     private key), DYNAMO_SF_LOGIN_URL (https://login.salesforce.com unless
     set) and, when the audience is not the login URL, DYNAMO_SF_AUDIENCE;
  3. the client credentials flow: DYNAMO_SF_CLIENT_ID,
     DYNAMO_SF_CLIENT_SECRET and DYNAMO_SF_LOGIN_URL (the org's My Domain);
  4. the Salesforce CLI: DYNAMO_SF_ORG or --sf-org, an org alias or username
     that 'sf org login' authorised.

A set with a variable missing, or two sets at once, is refused (exit 2)
naming the variables. With none, posts carry no Salesforce session. A flow or
the CLI gives a new session once the last is DYNAMO_SF_SESSION_MAX_AGE old
(a Go duration, 10m unless set): keep it below the org's session timeout.
Every post, and every chunk of a bulk job, asks for its session as it is
sent. Before anything is posted the session's org is compared with
DYNAMO_TENANT_ID: another org exits 2, a token endpoint's refusal exits 1.
'dynamo auth' shows where the session comes from and whose it is.`

// sfCredentials are the Salesforce credentials of a run: the --sf-org flag,
// and the source the chain made.
type sfCredentials struct {
	org     string             // --sf-org
	src     *salesforce.Source // nil until made, or when none is set
	made    bool
	tenant  string // the tenant's org ID, checked once before the first post
	checked bool
}

// registerSFOrg adds --sf-org to a command that takes a Salesforce session.
func (a *app) registerSFOrg(fs *pflag.FlagSet) {
	fs.StringVar(&a.sf.org, "sf-org", "", "the Salesforce CLI's org `alias` or username to take the session from (as DYNAMO_SF_ORG)")
}

// lookup reads the environment for salesforce.FromLookup: an empty value is
// not set, and --sf-org stands for DYNAMO_SF_ORG.
func (a *app) lookup(name string) (string, bool) {
	if name == salesforce.EnvOrg && a.sf.org != "" {
		return a.sf.org, true
	}
	v := a.env(name)
	return v, v != ""
}

// sfVariables are every variable of the chain, for the note that --fake
// does not read them.
var sfVariables = []string{
	salesforce.EnvSessionID, salesforce.EnvServerURL, salesforce.EnvClientID, salesforce.EnvUsername,
	salesforce.EnvJWTKeyFile, salesforce.EnvAudience, salesforce.EnvClientSecret, salesforce.EnvLoginURL,
	salesforce.EnvOrg, salesforce.EnvMaxAge,
}

// source returns the session source that the chain names, nil when none of
// its variables is set. A set with a variable missing, two sets, or a value
// that cannot be used is bad usage.
func (a *app) source() (*salesforce.Source, error) {
	if a.sf.made {
		return a.sf.src, nil
	}
	src, err := salesforce.FromLookup(a.lookup)
	switch {
	case errors.Is(err, salesforce.ErrNoCredentials):
		a.sf.made = true
		return nil, nil
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), "salesforce: ")
		if a.sf.org != "" && a.env(salesforce.EnvOrg) == "" {
			msg += " (--sf-org counts as " + salesforce.EnvOrg + ")"
		}
		return nil, usageErrorf("Salesforce credentials: %s (see 'dynamo auth --help')", msg)
	}
	a.sf.src, a.sf.made = src, true
	return src, nil
}

// integration returns the integration of a post: dynamo.SalesforceFrom the
// chain's source, so that every post (every chunk of a bulk job) asks it for
// a session as it is sent; nil when the chain names no source. With --fake
// the chain is not read: nothing leaves the machine.
func (a *app) integration() (*dynamo.Integration, error) {
	if a.fake {
		a.noteFakeIgnoresSalesforce()
		return nil, nil
	}
	src, err := a.source()
	if src == nil || err != nil {
		return nil, err
	}
	return dynamo.SalesforceFrom(src), nil
}

// noteFakeIgnoresSalesforce says on stderr, once, that --fake leaves the
// Salesforce credentials unused.
func (a *app) noteFakeIgnoresSalesforce() {
	if a.sf.made {
		return
	}
	a.sf.made = true
	given := a.sf.org != ""
	for _, name := range sfVariables {
		given = given || a.env(name) != ""
	}
	if given {
		fmt.Fprintln(a.stderr, "dynamo: --fake: the Salesforce credentials are not used; posts carry no session")
	}
}

// checkSession makes sure, before anything is posted, that the chain's
// source gives a session and that it is of the tenant's org. A refusal (a
// token endpoint's, the CLI's) fails the command (exit 1); another org than
// the tenant's is bad input (exit 2). The session is kept by the source, so
// that the first post uses it.
func (a *app) checkSession(ctx context.Context) error {
	if a.sf.src == nil || a.sf.checked {
		return nil
	}
	id, err := a.sf.src.Identity(ctx)
	if err != nil {
		return sessionErr(a.sf.src, err)
	}
	a.sf.checked = true
	if a.verbose {
		fmt.Fprintf(a.stderr, "dynamo: Salesforce session from %s: org %s, user %s, instance %s\n",
			describeOrigin(id.Origin), orUnknown(id.OrgID), orUnknown(userOf(id)), orUnknown(id.InstanceURL))
	}
	if m := orgMatch(a.env(dynamo.EnvTenantID), id.OrgID); m == orgOther {
		return usageErr(orgMismatchErr(a.env(dynamo.EnvTenantID), id.OrgID))
	}
	return nil
}

// sessionErr words a source's failure to give a session: a token endpoint's
// refusal keeps Salesforce's error and error_description.
func sessionErr(src *salesforce.Source, err error) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("Salesforce session: interrupted; nothing was posted")
	}
	var te *salesforce.TokenError
	what := "no Salesforce session"
	if errors.As(err, &te) {
		what = "the token endpoint refused a Salesforce session"
	}
	return fmt.Errorf("%s (%s); nothing was posted: %s", what, sourceName(src), strings.TrimPrefix(err.Error(), "salesforce: "))
}

// orgMatchResult is how a session's org compares with the tenant's.
type orgMatchResult int

const (
	orgUnknown orgMatchResult = iota // the tenant or the session names no org
	orgSame
	orgOther
)

// orgMatch compares the tenant ID with the session's org ID, on their first
// 15 characters (an 18-character ID adds a checksum), when both are org IDs.
func orgMatch(tenant, org string) orgMatchResult {
	if !isOrgID(tenant) || !isOrgID(org) {
		return orgUnknown
	}
	if tenant[:15] == org[:15] {
		return orgSame
	}
	return orgOther
}

// isOrgID reports whether s looks like a Salesforce org ID: "00D", 15 or
// 18 characters.
func isOrgID(s string) bool {
	return (len(s) == 15 || len(s) == 18) && strings.HasPrefix(s, "00D")
}

// orgMismatchErr says that the session is of another org than the tenant.
func orgMismatchErr(tenant, org string) error {
	return fmt.Errorf("the Salesforce session is of org %s, but the tenant is org %s (%s): Dynamo would refuse every post, so nothing was posted; use credentials of the tenant's org, or that org's tenant ID",
		org, tenant, dynamo.EnvTenantID)
}

// sourceName names the source as the chain's set of variables.
func sourceName(src *salesforce.Source) string {
	s := src.String()
	s = strings.TrimSuffix(strings.TrimPrefix(s, "salesforce.Source{"), "}")
	return s
}

// describeOrigin says which set of the chain an Identity's origin is.
func describeOrigin(origin string) string {
	switch origin {
	case "fixed session":
		return "a fixed session (" + salesforce.EnvSessionID + ", " + salesforce.EnvServerURL + ")"
	case "JWT bearer":
		return "the JWT bearer flow (" + salesforce.EnvClientID + ", " + salesforce.EnvUsername + ", " + salesforce.EnvJWTKeyFile + ")"
	case "client credentials":
		return "the client credentials flow (" + salesforce.EnvClientID + ", " + salesforce.EnvClientSecret + ")"
	case "Salesforce CLI":
		return "the Salesforce CLI (" + salesforce.EnvOrg + " or --sf-org)"
	}
	return origin
}

// userOf is the user an Identity names: username and ID as known.
func userOf(id salesforce.Identity) string {
	switch {
	case id.Username != "" && id.UserID != "":
		return id.Username + " (" + id.UserID + ")"
	case id.Username != "":
		return id.Username
	}
	return id.UserID
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
