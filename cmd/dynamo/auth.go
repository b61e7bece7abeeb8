package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

const authLong = `Show where the Salesforce session of the posts comes from, and whose it is,
without posting: the source (the set of variables that names it), the org ID,
the user, the instance URL, and whether the org is the tenant's
(DYNAMO_TENANT_ID). It has a session made as a post would (a token request,
or the Salesforce CLI), and never prints it, nor any other secret.

Exit codes: 0 a session was had, and its org is the tenant's (or either is
not an org ID, or DYNAMO_TENANT_ID is not set); 1 the source could not give a
session (a token endpoint's refusal says Salesforce's error and
description); 2 no source, a partial one, two at once, or a session of
another org than the tenant's.

` + credentialsHelp

// authOutput is what 'dynamo auth --json' prints: no secret.
type authOutput struct {
	// Origin is the kind of source: "fixed session", "JWT bearer",
	// "client credentials" or "Salesforce CLI".
	Origin string `json:"origin"`
	// Variables are the set of the chain that named the source.
	Variables string `json:"variables,omitempty"`
	// Where is the login URL of a flow, or the Salesforce CLI's org.
	Where       string `json:"where,omitempty"`
	OrgID       string `json:"orgID,omitempty"`
	UserID      string `json:"userID,omitempty"`
	Username    string `json:"username,omitempty"`
	InstanceURL string `json:"instanceURL"`
	TenantID    string `json:"tenantID,omitempty"`
	// OrgMatchesTenant is null when the tenant or the org is unknown.
	OrgMatchesTenant *bool `json:"orgMatchesTenant"`
	// MaxAge is how old a session may be before a new one is had; empty
	// for a fixed session, which is never renewed.
	MaxAge string `json:"maxAge,omitempty"`
}

func (a *app) authCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "auth",
		Short: "Show where the Salesforce session comes from, and whose it is",
		Long:  authLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE:  runE(func(ctx context.Context, _ []string) error { return a.auth(ctx) }),
	}
}

func (a *app) auth(ctx context.Context) error {
	if a.fake && a.env(envFakeURL) == "" {
		return usageErrorf("auth: --fake without a running 'dynamo fake' (DYNAMO_FAKE_URL) reads no Salesforce credentials: there is no session to show")
	}
	src, err := a.sessionSource()
	if err != nil {
		return err
	}
	id, err := a.sessionIdentity(ctx, src)
	if err != nil {
		return err
	}
	out := authOutput{
		Origin: id.Origin, Variables: chainSet(id.Origin),
		Where: strings.TrimSpace(strings.TrimPrefix(sourceName(src), id.Origin)),
		OrgID: id.OrgID, UserID: id.UserID, Username: id.Username, InstanceURL: id.InstanceURL,
		TenantID: a.env(dynamo.EnvTenantID), MaxAge: a.maxAge(id.Origin),
	}
	if m := orgMatch(out.TenantID, out.OrgID); m != orgUnknown {
		matches := m == orgSame
		out.OrgMatchesTenant = &matches
	}
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		a.printAuth(out)
	}
	if mismatch := a.orgMismatch(id); mismatch != "" {
		return usageErrorf("%s", mismatch)
	}
	return nil
}

// maxAge is how long the source keeps a session, as auth shows it: ""
// for a fixed session.
func (a *app) maxAge(origin string) string {
	if origin == "fixed session" {
		return ""
	}
	if d, err := time.ParseDuration(a.env(salesforce.EnvMaxAge)); err == nil {
		return d.String() // FromLookup has refused any other value
	}
	return (10 * time.Minute).String()
}

func (a *app) printAuth(out authOutput) {
	from := printable(out.Origin)
	if out.Variables != "" {
		from += " (" + out.Variables + ")"
	}
	tenant := "(" + dynamo.EnvTenantID + " not set)"
	switch {
	case out.TenantID == "":
	case out.OrgMatchesTenant == nil:
		tenant = printable(out.TenantID) + " (not compared: not both org IDs)"
	case *out.OrgMatchesTenant:
		tenant = printable(out.TenantID) + " (the session's org)"
	default:
		tenant = printable(out.TenantID) + " (ANOTHER org than the session's)"
	}
	renewed := "never (a fixed session)"
	if out.MaxAge != "" {
		renewed = "when " + out.MaxAge + " old (" + salesforce.EnvMaxAge + ")"
	}
	fmt.Fprintf(a.stdout, "session from:  %s\n", from)
	switch {
	case out.Where == "":
	case out.Origin == "Salesforce CLI":
		fmt.Fprintf(a.stdout, "CLI org:       %s\n", printable(out.Where))
	default:
		fmt.Fprintf(a.stdout, "login URL:     %s\n", printable(out.Where))
	}
	fmt.Fprintf(a.stdout, "org ID:        %s\n", orUnknown(out.OrgID))
	fmt.Fprintf(a.stdout, "user:          %s\n", userOf(salesforce.Identity{Username: out.Username, UserID: out.UserID}))
	fmt.Fprintf(a.stdout, "instance URL:  %s\n", orUnknown(out.InstanceURL))
	fmt.Fprintf(a.stdout, "tenant:        %s\n", tenant)
	fmt.Fprintf(a.stdout, "renewed:       %s\n", renewed)
}
