package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

const taskLong = `The Task API runs one template for one record (with a Salesforce session) or
standalone, at once and without a batch.

  dynamo task post (--template ID | --dap FILE) [--param k=v]... [--part name=file.json]... [--wait]
  dynamo task status TASK
  dynamo task wait TASK
  dynamo task results TASK --out DIR

With a Salesforce session (from the environment or --sf-org, see 'dynamo auth
--help'), the task runs in that session and --param id=RECORD is required;
without one it runs standalone and needs no id. Each accepted task reports the
organisation's licence usage.

Exit codes: 0 done without errors, 1 a call failed, 2 bad usage or input,
3 the task completed with errors.`

func (a *app) taskCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "task",
		Short: "Post a single task to the Task API and follow it",
		Long:  taskLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageErrorf("task: give a command: post, status, wait or results (see 'dynamo task --help')")
		},
	}
	c.AddCommand(a.taskPostCommand(), a.taskStatusCommand(), a.taskWaitCommand(), a.taskResultsCommand())
	return c
}

type taskPostFlags struct {
	templateFlags
	params []string
	parts  []string
	wait   bool
}

func (a *app) taskPostCommand() *cobra.Command {
	var f taskPostFlags
	c := &cobra.Command{
		Use:   "post (--template ID | --dap FILE) [--param k=v]... [--part name=file.json]... [--wait]",
		Short: "Post one task",
		Long: `Post one task: the template runs once, with the params given.

The template is referenced with --template (with Salesforce, the Content
Document ID of the DAP file), or embedded from a DAP file with --dap (streamed,
never loaded whole). --param key=value sets a param; --part name=file.json
(with --dap only) attaches a JSON file, streamed, that the task receives as the
param "name". With a Salesforce session (see 'dynamo auth --help'), --param
id=RECORD names the record the task is for.

A post whose answer is lost may have created the task: it is never posted
again on its own; the Dynamo console shows the tasks of the last days.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error { return a.taskPost(ctx, &f) }),
	}
	fs := c.Flags()
	f.register(fs)
	fs.StringArrayVar(&f.params, "param", nil, "a param `key=value` of the task (repeatable; id=RECORD with Salesforce)")
	fs.StringArrayVar(&f.parts, "part", nil, "an extra JSON part `name=file.json`, the task's param name (repeatable; needs --dap)")
	fs.BoolVar(&f.wait, "wait", false, "wait for the task to complete, like 'dynamo task wait'")
	return c
}

func (a *app) taskStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status TASK",
		Short: "Show the status of a task, with its log and result files",
		Long:  "Show the status of a task of the Task API. Exit code 3 when it completed with errors.",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			st, err := client.GetTask(ctx, args[0])
			if err != nil {
				return taskCallErr("task "+args[0], err)
			}
			return a.showTask(st)
		}),
	}
}

func (a *app) taskWaitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wait TASK",
		Short: "Wait for a task to complete",
		Long: `Wait until the task has been processed, showing each change of its status on
stderr, then print its status. Exit code 3 when it completed with errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			st, err := a.waitTask(ctx, client, args[0])
			if err != nil {
				return err
			}
			return a.showTask(st)
		}),
	}
}

func (a *app) taskResultsCommand() *cobra.Command {
	var f resultsFlags
	c := &cobra.Command{
		Use:   "results TASK --out DIR",
		Short: "Download every result file of a task",
		Long: `Download every result file of a completed task into DIR/<result>.

Download URLs are valid for about an hour after the task completes; the files
are fetched without the API's credentials. A result ID that is not a plain
file name is refused, and nothing is ever written outside DIR.

Exit code 1 when a download failed or the task has not completed yet, 3 when
every file was downloaded but the task had errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error { return a.taskResults(ctx, args[0], &f) }),
	}
	f.register(c)
	return c
}

// taskPostOutput is what task post prints with --json.
type taskPostOutput struct {
	*dynamo.TaskResponse
	Status *dynamo.TaskStatus `json:"status,omitempty"`
}

func (a *app) taskPost(ctx context.Context, f *taskPostFlags) error {
	req, tmpl, err := a.taskRequest(ctx, f)
	if err != nil {
		return err
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	var resp *dynamo.TaskResponse
	if f.dap != "" {
		resp, err = client.PostTaskWithTemplate(ctx, tmpl, req)
	} else {
		resp, err = client.PostTask(ctx, req)
	}
	if err != nil {
		if verr := validationErr("task", err); verr != err {
			return verr
		}
		return taskCallErr("posting the task", err)
	}
	out := taskPostOutput{TaskResponse: resp}
	if !a.jsonOut {
		fmt.Fprintf(a.stdout, "task %s accepted\n", printable(resp.TaskID))
		a.printUsage(resp.Usage)
	}
	if f.wait {
		if out.Status, err = a.waitTask(ctx, client, resp.TaskID); err != nil {
			return err
		}
		if !a.jsonOut {
			a.printTaskStatus(out.Status)
		}
	}
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	}
	if out.Status != nil {
		return taskOutcome(out.Status)
	}
	return nil
}

// taskRequest builds the task that the flags describe, checking them all
// before anything is sent. Whether an id is needed is the SDK's to say.
func (a *app) taskRequest(ctx context.Context, f *taskPostFlags) (*dynamo.TaskRequest, dynamo.Template, error) {
	var tmpl dynamo.Template
	if err := f.check(); err != nil {
		return nil, tmpl, err
	}
	x, err := parseExtras(&f.templateFlags, f.params, f.parts, true)
	if err != nil {
		return nil, tmpl, err
	}
	req := &dynamo.TaskRequest{Template: f.template}
	if len(x.params) > 0 {
		req.Params = make(dynamo.Params, len(x.params))
		for k, v := range x.params {
			req.Params[k] = v
		}
	}
	if f.dap != "" {
		if tmpl, err = f.open(); err != nil {
			return nil, tmpl, err
		}
		if req.Parts, err = streamParts(x.parts); err != nil {
			return nil, tmpl, err
		}
	}
	// The session last: everything else is checked before the network.
	if req.Integration, err = a.integration(ctx); err != nil {
		return nil, tmpl, err
	}
	return req, tmpl, nil
}

// printUsage shows the licence usage that the API reported with a task.
func (a *app) printUsage(u dynamo.Usage) {
	for _, c := range []struct {
		what  string
		count dynamo.UsageCount
	}{{"API calls", u.API}, {"signatures", u.Signing}} {
		switch {
		case c.count.TermMax > 0:
			fmt.Fprintf(a.stdout, "%s: %s this term\n", c.what, c.count)
		case c.count.Term > 0:
			fmt.Fprintf(a.stdout, "%s: %d this term\n", c.what, c.count.Term)
		}
	}
}

// showTask prints a task's status and returns the command's exit.
func (a *app) showTask(st *dynamo.TaskStatus) error {
	if a.jsonOut {
		if err := a.printJSON(st); err != nil {
			return err
		}
	} else {
		a.printTaskStatus(st)
	}
	return taskOutcome(st)
}

// waitTask follows the task until it completes, with each change of its
// status on stderr.
func (a *app) waitTask(ctx context.Context, client *dynamo.Client, taskID string) (*dynamo.TaskStatus, error) {
	p := a.newProgress("task " + taskID)
	start, last := time.Now(), ""
	st, err := client.WaitTask(ctx, taskID, a.waitTaskOptions(dynamo.WithTaskProgress(func(st *dynamo.TaskStatus) {
		if a.progressMode != "none" && st.StatusMessage != last {
			last = st.StatusMessage
			p.log(fmt.Sprintf("task %s: %s, %s elapsed", printable(taskID), printable(st.StatusMessage), time.Since(start).Round(100*time.Millisecond)))
		}
	}))...)
	p.finish()
	switch {
	case errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("waiting for task %s: interrupted; the task runs on in Dynamo: follow it with 'dynamo task wait %s'", taskID, taskID)
	case err != nil:
		return nil, taskCallErr("waiting for task "+taskID, err)
	}
	return st, nil
}

// taskResultsOutput is what task results prints with --json.
type taskResultsOutput struct {
	Task        string     `json:"task"`
	Errors      bool       `json:"errors"`
	Files       []download `json:"files"`
	FailedFiles int        `json:"failedFiles"`
	Dir         string     `json:"dir"`
}

func (a *app) taskResults(ctx context.Context, taskID string, f *resultsFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	st, err := client.GetTask(ctx, taskID)
	if err != nil {
		return taskCallErr("task "+taskID, err)
	}
	if !st.Completed {
		return fmt.Errorf("task %s has not completed yet (%s): run 'dynamo task wait %s', then results again", taskID, printable(st.StatusMessage), taskID)
	}
	d, err := a.newDownloader(ctx, client, f)
	if err != nil {
		return err
	}
	for _, r := range st.ResultList {
		if rel, err := resultPath("", r.ID); err != nil {
			d.fail(taskID, r.ID, err)
		} else {
			d.add(taskID, r, rel)
		}
	}
	out := taskResultsOutput{Task: taskID, Errors: st.Errors, Dir: f.out}
	out.Files, out.FailedFiles = d.close()
	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "task %s: %d files downloaded into %s\n", taskID, len(out.Files)-out.FailedFiles, f.out)
	}
	switch {
	case out.FailedFiles > 0:
		return fmt.Errorf("%d of %d result files could not be downloaded", out.FailedFiles, len(out.Files))
	case st.Errors:
		return errTaskErrors
	}
	return nil
}
