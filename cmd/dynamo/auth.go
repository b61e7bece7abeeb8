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

const authLong = `Show where the Salesforce session of a post comes from, without posting: the
set of variables that gives it, the org ID, the user, the instance URL, and
whether the org is the tenant's (DYNAMO_TENANT_ID). It gets a session as a post
would (a token request, or the Salesforce CLI) and never prints a secret.

Exit code 0 when a session was had and its org is the tenant's (or either is
not an org ID, so they cannot be compared), 1 when it could not be had (the
token endpoint's refusal, with Salesforce's error and description), 2 when
the credentials are incomplete, none is set, or the org is not the tenant's.

` + credentialsHelp

// authOutput is what auth prints with --json: no secret.
type authOutput struct {
	Source string `json:"source"`
	Origin string `json:"origin"`
	// Where is the login URL of a flow, or the Salesforce CLI's org.
	Where       string `json:"where,omitempty"`
	OrgID       string `json:"orgID,omitempty"`
	UserID      string `json:"userID,omitempty"`
	Username    string `json:"username,omitempty"`
	InstanceURL string `json:"instanceURL,omitempty"`
	TenantID    string `json:"tenantID,omitempty"`
	// OrgMatchesTenant is null when the tenant or the session names no org.
	OrgMatchesTenant *bool  `json:"orgMatchesTenant"`
	MaxAge           string `json:"maxAge,omitempty"`
}

func (a *app) authCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "auth",
		Short: "Show where the Salesforce session comes from, its org and user",
		Long:  authLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE:  runE(a.auth),
	}
	a.registerSFOrg(c.Flags())
	return c
}

func (a *app) auth(ctx context.Context, _ []string) error {
	if a.fake {
		return usageErrorf("auth: --fake does not apply: auth asks for a session with the Salesforce credentials of the environment")
	}
	src, err := a.source()
	if err != nil {
		return err
	}
	if src == nil {
		_, err := salesforce.FromLookup(a.lookup) // for its message naming every set
		return usageErrorf("auth: %s: posts carry no Salesforce session (see 'dynamo auth --help')", strings.TrimPrefix(err.Error(), "salesforce: "))
	}
	id, err := src.Identity(ctx)
	if err != nil {
		return sessionErr(src, err)
	}
	tenant := a.env(dynamo.EnvTenantID)
	out := authOutput{
		Source: describeOrigin(id.Origin), Origin: id.Origin,
		Where: strings.TrimSpace(strings.TrimPrefix(sourceName(src), id.Origin)),
		OrgID: id.OrgID, UserID: id.UserID, Username: id.Username, InstanceURL: id.InstanceURL,
		TenantID: tenant, MaxAge: a.maxAge(id.Origin),
	}
	match := orgMatch(tenant, id.OrgID)
	if match != orgUnknown {
		same := match == orgSame
		out.OrgMatchesTenant = &same
	}
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		a.printAuth(out, match)
	}
	if match == orgOther {
		return usageErr(orgMismatchErr(tenant, id.OrgID))
	}
	return nil
}

// maxAge says how long the source keeps a session, as auth shows it.
func (a *app) maxAge(origin string) string {
	if origin == "fixed session" {
		return ""
	}
	if v := a.env(salesforce.EnvMaxAge); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d.String()
		}
	}
	return (10 * time.Minute).String()
}

// printAuth writes auth's report for a person.
func (a *app) printAuth(out authOutput, match orgMatchResult) {
	w := a.stdout
	fmt.Fprintf(w, "source:    %s\n", out.Source)
	switch {
	case out.Where == "":
	case out.Origin == "Salesforce CLI":
		fmt.Fprintf(w, "CLI org:   %s\n", out.Where)
	default:
		fmt.Fprintf(w, "login:     %s\n", out.Where)
	}
	fmt.Fprintf(w, "org:       %s\n", orUnknown(out.OrgID))
	fmt.Fprintf(w, "user:      %s\n", orUnknown(userOf(salesforce.Identity{Username: out.Username, UserID: out.UserID})))
	fmt.Fprintf(w, "instance:  %s\n", orUnknown(out.InstanceURL))
	switch {
	case out.TenantID == "":
		fmt.Fprintf(w, "tenant:    %s is not set: not compared\n", dynamo.EnvTenantID)
	case match == orgSame:
		fmt.Fprintf(w, "tenant:    %s, the same org\n", out.TenantID)
	case match == orgOther:
		fmt.Fprintf(w, "tenant:    %s, ANOTHER ORG: Dynamo would refuse the session\n", out.TenantID)
	default:
		fmt.Fprintf(w, "tenant:    %s: not compared (not both org IDs)\n", out.TenantID)
	}
	if out.MaxAge == "" {
		fmt.Fprintln(w, "renewed:   never (a fixed session)")
	} else {
		fmt.Fprintf(w, "renewed:   once a session is %s old (%s)\n", out.MaxAge, salesforce.EnvMaxAge)
	}
}
