package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

type postFlags struct {
	templateFlags
	ids    []string
	csv    string
	dups   bool // --allow-duplicates
	parts  []string
	params []string
	wait   bool
}

func (a *app) postCommand() *cobra.Command {
	var f postFlags
	c := &cobra.Command{
		Use:   "post (--template ID | --dap FILE) (--id ID... | --csv FILE) [flags]",
		Short: "Post one batch of up to 1000 tasks",
		Long: `Post one batch: the same template runs once per record.

The records come from --id (repeatable) or from a CSV file whose header names
an id column; every other column becomes a string param of the task. --param
key=value adds a param to every task. --part name=file.json (with --dap only)
attaches a JSON file that every task receives as the param "name".

A CSV record identical to an earlier one (the same id and params) refuses the
file unless --allow-duplicates is given; an id repeated with other params is
posted, with a warning on stderr.

The template is referenced with --template, or embedded from a DAP file with
--dap (streamed, never loaded whole). A Salesforce session is taken from
the source the environment or --sf-org names (see 'dynamo auth --help').`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error { return a.post(ctx, &f) }),
	}
	fs := c.Flags()
	f.register(fs)
	fs.StringArrayVar(&f.ids, "id", nil, "a Salesforce record `ID` to run the template for (repeatable)")
	fs.StringVar(&f.csv, "csv", "", "a CSV `file` of records: an id column, other columns become params")
	fs.BoolVar(&f.dups, "allow-duplicates", false, "post a CSV record identical to an earlier one (same id and params) instead of refusing the file")
	fs.StringArrayVar(&f.parts, "part", nil, "an extra JSON part `name=file.json`, given to every task as the param name (repeatable; needs --dap)")
	fs.StringArrayVar(&f.params, "param", nil, "a param `key=value` for every task (repeatable)")
	fs.BoolVar(&f.wait, "wait", false, "wait for the batch to complete, like 'dynamo wait'")
	return c
}

// postOutput is what post prints with --json.
type postOutput struct {
	*dynamo.BatchResponse
	Status *dynamo.BatchStatus `json:"status,omitempty"`
}

func (a *app) post(ctx context.Context, f *postFlags) error {
	b, tmpl, err := a.postBatch(ctx, f)
	if err != nil {
		return err
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	var resp *dynamo.BatchResponse
	if f.dap != "" {
		resp, err = client.PostBatchWithTemplate(ctx, tmpl, b)
	} else {
		resp, err = client.PostBatch(ctx, b)
	}
	var countErr *dynamo.BatchTaskCountError
	switch {
	case errors.As(err, &countErr):
		return fmt.Errorf("%w: the batch exists, do not post it again; follow it with 'dynamo status %s'", err, countErr.Response.ID)
	case err != nil:
		if verr := validationErr("batch", err); verr != err {
			return verr
		}
		return callErr("posting the batch", err)
	}
	out := postOutput{BatchResponse: resp}
	if !a.jsonOut {
		fmt.Fprintf(a.stdout, "batch %s accepted: %s, licence usage %d\n", resp.ID, plural(len(resp.TaskIDs), "task", "tasks"), resp.LicenseUsage)
		for i, id := range resp.TaskIDs {
			fmt.Fprintf(a.stdout, "task %s  record %v\n", id, b.Tasks[i].Params["id"])
		}
	}
	if !f.wait {
		if a.jsonOut {
			return a.printJSON(out)
		}
		return nil
	}
	st, err := a.wait(ctx, client, resp.ID)
	if err != nil {
		return err
	}
	out.Status = st
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		a.printWaitSummary(resp.ID, st)
	}
	return batchOutcome(st)
}

// postBatch builds the batch that the flags describe, checking them all
// before anything is sent.
func (a *app) postBatch(ctx context.Context, f *postFlags) (*dynamo.Batch, dynamo.Template, error) {
	var tmpl dynamo.Template
	if err := f.check(); err != nil {
		return nil, tmpl, err
	}
	switch {
	case len(f.ids) == 0 && f.csv == "":
		return nil, tmpl, usageErrorf("give the records with --id ID (repeatable) or --csv FILE")
	case len(f.ids) > 0 && f.csv != "":
		return nil, tmpl, usageErrorf("--id and --csv exclude each other: give one")
	}
	x, err := parseExtras(&f.templateFlags, f.params, f.parts, false)
	if err != nil {
		return nil, tmpl, err
	}
	b := &dynamo.Batch{Template: f.template}
	if f.csv != "" {
		b.Tasks, err = readAllCSV(f.csv, x.params, x.parts, dynamo.MaxTasksPerBatch, duplicatePolicy{allow: f.dups, warn: a.stderr})
		if err != nil {
			return nil, tmpl, usageErr(err)
		}
	} else if b.Tasks, err = idTasks(f.ids, x); err != nil {
		return nil, tmpl, err
	}
	if f.dap != "" {
		if tmpl, err = f.open(); err != nil {
			return nil, tmpl, err
		}
		if b.Parts, err = streamParts(x.parts); err != nil {
			return nil, tmpl, err
		}
	}
	// The session last: everything else is checked before the network.
	if b.Integration, err = a.integration(ctx); err != nil {
		return nil, tmpl, err
	}
	return b, tmpl, nil
}

// idTasks makes a task of each --id, with the params and parts of x.
func idTasks(ids []string, x extras) ([]dynamo.Task, error) {
	if len(ids) > dynamo.MaxTasksPerBatch {
		return nil, usageErrorf("--id given %d times, more than the %d tasks one batch holds: use 'dynamo bulk --csv'", len(ids), dynamo.MaxTasksPerBatch)
	}
	tasks := make([]dynamo.Task, 0, len(ids))
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, usageErrorf("--id: empty record ID")
		}
		p := make(dynamo.Params, len(x.params)+1)
		for k, v := range x.params {
			p[k] = v
		}
		p["id"] = id
		tasks = append(tasks, taskOf(p, x.parts))
	}
	return tasks, nil
}
