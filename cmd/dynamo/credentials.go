package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

// credentialsHelp says where a post's Salesforce session comes from: the
// chain that salesforce.FromLookup reads, in its order. 'dynamo auth --help'
// shows it.
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
(a Go duration, 10m unless set): keep it below the org's session timeout, as
Dynamo uses the session when the tasks run. Every post, and every chunk of a
bulk job, asks for its session as it is sent. Before anything is posted a
session is had and its org compared with DYNAMO_TENANT_ID: another org exits
2, a token endpoint's refusal exits 1 with Salesforce's error and
description. With --fake no Salesforce credentials are read.`

// sfLookup reads the Salesforce variables (salesforce.FromLookup's) from
// the environment: an empty value is not set, and --sf-org stands for
// DYNAMO_SF_ORG.
func (a *app) sfLookup(name string) (string, bool) {
	if name == salesforce.EnvOrg && a.sfOrg != "" {
		return a.sfOrg, true
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

// sessionSource returns the source of Salesforce sessions that the
// environment and --sf-org name. Its error matches
// salesforce.ErrNoCredentials when none is named, and is bad usage (exit
// code 2) for that, a partial set, two sets, or a value that cannot be used.
func (a *app) sessionSource() (*salesforce.Source, error) {
	src, err := salesforce.FromLookup(a.sfLookup)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "salesforce: ")
		if a.sfOrg != "" && a.env(salesforce.EnvOrg) == "" {
			msg += " (--sf-org counts as " + salesforce.EnvOrg + ")"
		}
		return nil, usageErr(&describedError{msg: "Salesforce session: " + msg + " (see 'dynamo auth --help')", err: err})
	}
	return src, nil
}

// integration returns the Salesforce integration the posts carry:
// dynamo.SalesforceFrom the source that the environment or --sf-org names,
// so that every post (every chunk of a bulk job) asks it for a session as it
// is sent; nil without one. The first session is had now, so that a refused
// token request (exit code 1), or a session of another org than the tenant
// (exit code 2), ends the command before anything is posted; the source
// keeps that session for the first post. With --fake and an in-process
// fake the chain is not read: nothing leaves the machine. A running "dynamo
// fake" prints a set of its own fake login host, which is read.
func (a *app) integration(ctx context.Context) (*dynamo.Integration, error) {
	if a.fake && a.env(envFakeURL) == "" {
		a.noteFakeIgnoresSalesforce()
		return nil, nil
	}
	src, err := a.sessionSource()
	switch {
	case errors.Is(err, salesforce.ErrNoCredentials):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if _, err := a.client(); err != nil {
		return nil, err // the API's credentials are checked before the network
	}
	id, err := a.sessionIdentity(ctx, src)
	if err != nil {
		return nil, err
	}
	if a.verbose {
		fmt.Fprintf(a.stderr, "dynamo: Salesforce session from %s: org %s, user %s, instance %s\n",
			printable(id.Origin), orUnknown(id.OrgID), userOf(id), orUnknown(id.InstanceURL))
	}
	if mismatch := a.orgMismatch(id); mismatch != "" {
		return nil, usageErrorf("%s", mismatch)
	}
	return dynamo.SalesforceFrom(src), nil
}

// noteFakeIgnoresSalesforce says on stderr that --fake leaves the
// Salesforce credentials unused, when some are given.
func (a *app) noteFakeIgnoresSalesforce() {
	given := a.sfOrg != ""
	for _, name := range sfVariables {
		given = given || a.env(name) != ""
	}
	if given {
		fmt.Fprintln(a.stderr, "dynamo: --fake: the Salesforce credentials are not used; posts carry no session")
	}
}

// sessionIdentity has src's session, and says whose it is. A source that
// cannot give one is a failed call (exit code 1); a token endpoint's refusal
// keeps Salesforce's error and error_description.
func (a *app) sessionIdentity(ctx context.Context, src *salesforce.Source) (salesforce.Identity, error) {
	id, err := src.Identity(ctx)
	if err != nil {
		what := "no Salesforce session"
		var te *salesforce.TokenError
		if errors.As(err, &te) {
			what = "the token endpoint refused a Salesforce session"
		}
		msg := fmt.Sprintf("%s (%s), nothing was posted: %s", what, sourceName(src), strings.TrimPrefix(err.Error(), "salesforce: "))
		if errors.Is(err, context.Canceled) {
			msg = "no Salesforce session: interrupted, nothing was posted"
		}
		return id, &exitError{code: exitFailed, err: &describedError{msg: msg, err: err}}
	}
	return id, nil
}

// orgMismatch says how the session's org differs from the tenant's
// (DYNAMO_TENANT_ID), when both are org IDs (compared on their first 15
// characters, as an 18-character ID adds only a checksum); "" when they
// match or cannot be compared.
func (a *app) orgMismatch(id salesforce.Identity) string {
	tenant := a.env(dynamo.EnvTenantID)
	if orgMatch(tenant, id.OrgID) != orgOther {
		return ""
	}
	return fmt.Sprintf("the Salesforce session (%s) is of org %s, but the tenant (%s) is org %s; Dynamo would refuse it, so nothing was posted: use a session of the tenant's org, or that org's tenant ID",
		id.Origin, id.OrgID, dynamo.EnvTenantID, tenant)
}

// orgMatchResult is how a session's org compares with the tenant's.
type orgMatchResult int

const (
	orgUnknown orgMatchResult = iota // the tenant or the session names no org
	orgSame
	orgOther
)

// orgMatch compares the tenant ID with the session's org ID, on their first
// 15 characters, when both are org IDs.
func orgMatch(tenant, org string) orgMatchResult {
	if !isOrgID(tenant) || !isOrgID(org) {
		return orgUnknown
	}
	if tenant[:15] == org[:15] {
		return orgSame
	}
	return orgOther
}

// isOrgID reports whether s is a 15- or 18-character Salesforce org ID.
func isOrgID(s string) bool {
	if (len(s) != 15 && len(s) != 18) || !strings.HasPrefix(s, "00D") {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// sourceName is what the source prints of itself, without a secret: its
// kind, and the login URL or the CLI's org.
func sourceName(src *salesforce.Source) string {
	return strings.TrimSuffix(strings.TrimPrefix(src.String(), "salesforce.Source{"), "}")
}

// chainSet names the set of the chain that an Identity's origin is.
func chainSet(origin string) string {
	switch origin {
	case "fixed session":
		return salesforce.EnvSessionID + ", " + salesforce.EnvServerURL
	case "JWT bearer":
		return salesforce.EnvClientID + ", " + salesforce.EnvUsername + ", " + salesforce.EnvJWTKeyFile
	case "client credentials":
		return salesforce.EnvClientID + ", " + salesforce.EnvClientSecret + ", " + salesforce.EnvLoginURL
	case "Salesforce CLI":
		return salesforce.EnvOrg + " or --sf-org"
	}
	return ""
}

// userOf is the user an Identity names: the username, and the ID when
// known.
func userOf(id salesforce.Identity) string {
	user := orUnknown(id.Username)
	if id.UserID != "" {
		user += " (" + printable(id.UserID) + ")"
	}
	return user
}

// orUnknown is s fit for the terminal, or "(unknown)" when empty.
func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return printable(s)
}
