package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

const authLong = `Show where the Salesforce session of the posts comes from, and whose it is:
the source (see 'dynamo --help' for the variables and their order), the org
ID, the user, the instance URL, and whether the org is the tenant's
(DYNAMO_TENANT_ID). It has a session made as a post would, and never prints
it, nor any other secret.

Exit codes: 0 a session was had, and its org is the tenant's (or either is
not an org ID); 1 the source could not give a session (a token endpoint's
refusal says Salesforce's error and description); 2 no source, a partial
one, two at once, or a session of another org than the tenant's.`

// authOutput is what 'dynamo auth --json' prints.
type authOutput struct {
	Origin      string `json:"origin"`
	OrgID       string `json:"orgID,omitempty"`
	UserID      string `json:"userID,omitempty"`
	Username    string `json:"username,omitempty"`
	InstanceURL string `json:"instanceURL"`
	TenantID    string `json:"tenantID,omitempty"`
	// OrgMatchesTenant is null when the tenant or the org is unknown.
	OrgMatchesTenant *bool `json:"orgMatchesTenant"`
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
	src, err := a.sessionSource()
	if err != nil {
		return err
	}
	id, err := a.sessionIdentity(ctx, src)
	if err != nil {
		return err
	}
	out := authOutput{Origin: id.Origin, OrgID: id.OrgID, UserID: id.UserID, Username: id.Username, InstanceURL: id.InstanceURL, TenantID: a.tenantID()}
	mismatch := a.orgMismatch(id)
	if isOrgID(out.TenantID) && isOrgID(out.OrgID) {
		matches := mismatch == ""
		out.OrgMatchesTenant = &matches
	}
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		a.printAuth(out)
	}
	if mismatch != "" {
		return usageErrorf("%s", mismatch)
	}
	return nil
}

func (a *app) printAuth(out authOutput) {
	unknown := func(s string) string {
		if s == "" {
			return "(unknown)"
		}
		return printable(s)
	}
	user := unknown(out.Username)
	if out.UserID != "" {
		user += " (" + printable(out.UserID) + ")"
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
	fmt.Fprintf(a.stdout, "session from:  %s\n", printable(out.Origin))
	fmt.Fprintf(a.stdout, "org ID:        %s\n", unknown(out.OrgID))
	fmt.Fprintf(a.stdout, "user:          %s\n", user)
	fmt.Fprintf(a.stdout, "instance URL:  %s\n", unknown(out.InstanceURL))
	fmt.Fprintf(a.stdout, "tenant:        %s\n", tenant)
}
