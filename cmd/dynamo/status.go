package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status BATCH [TASK]",
		Short: "Show the status of a batch, or of one of its tasks",
		Long: `Show the status of a batch and of each of its tasks, or of one task with its
log and result files. Status is kept for 24 hours after posting.

Exit code 3 when the batch (or task) completed with errors.`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: runE(func(ctx context.Context, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			if len(args) == 2 {
				return a.taskStatus(ctx, client, args[0], args[1])
			}
			return a.batchStatus(ctx, client, args[0])
		}),
	}
}

func (a *app) waitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wait BATCH",
		Short: "Wait for a batch to complete",
		Long: `Wait until every task of the batch has been processed, showing progress on
stderr (a bar on a terminal, one line per change otherwise), then print the
outcome. Exit code 3 when some tasks had errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			st, err := a.wait(ctx, client, args[0])
			if err != nil {
				return err
			}
			if a.jsonOut {
				if err := a.printJSON(batchOutput{ID: args[0], BatchStatus: st}); err != nil {
					return err
				}
			} else {
				a.printWaitSummary(args[0], st)
			}
			return batchOutcome(st)
		}),
	}
}

// batchOutput is a batch's status as printed with --json.
type batchOutput struct {
	ID string `json:"id"`
	*dynamo.BatchStatus
}

// taskOutput is a task's status as printed with --json.
type taskOutput struct {
	BatchID string `json:"batchId"`
	ID      string `json:"id"`
	*dynamo.TaskStatus
}

// counts tallies the tasks of a status.
type counts struct {
	total, completed, errors int
}

func countTasks(st *dynamo.BatchStatus) counts {
	c := counts{total: len(st.Tasks)}
	for _, t := range st.Tasks {
		if t.Completed {
			c.completed++
		}
		if t.Errors {
			c.errors++
		}
	}
	return c
}

func (c counts) String() string {
	s := fmt.Sprintf("%d/%d tasks completed", c.completed, c.total)
	if c.errors > 0 {
		s += fmt.Sprintf(", %d with errors", c.errors)
	}
	return s
}

// batchOutcome is the exit of a command that followed a batch to its end.
func batchOutcome(st *dynamo.BatchStatus) error {
	if st.Completed && st.Errors {
		return errTaskErrors
	}
	return nil
}

// wait follows the batch until it completes, with progress on stderr.
func (a *app) wait(ctx context.Context, client *dynamo.Client, batchID string) (*dynamo.BatchStatus, error) {
	p := a.newProgress("batch " + batchID)
	st, err := client.WaitBatch(ctx, batchID, a.waitBatchOptions(dynamo.WithBatchProgress(func(st *dynamo.BatchStatus) {
		c := countTasks(st)
		p.update(c.completed, c.errors, c.total)
	}))...)
	p.finish()
	switch {
	case errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("waiting for batch %s: interrupted; the batch runs on in Dynamo: follow it with 'dynamo wait %s'", batchID, batchID)
	case err != nil:
		return nil, callErr("waiting for batch "+batchID, err)
	}
	return st, nil
}

func (a *app) printWaitSummary(batchID string, st *dynamo.BatchStatus) {
	c := countTasks(st)
	fmt.Fprintf(a.stdout, "batch %s: %s (%s)\n", batchID, printable(st.StatusMessage), c)
	for _, t := range st.Tasks {
		if t.Errors {
			fmt.Fprintf(a.stdout, "task %s had errors: see 'dynamo status %s %s'\n", printable(t.ID), batchID, printable(t.ID))
		}
	}
	if st.Errors && c.errors == 0 {
		fmt.Fprintf(a.stdout, "batch %s reports a processing error\n", batchID)
	}
}

func (a *app) batchStatus(ctx context.Context, client *dynamo.Client, batchID string) error {
	st, err := client.GetBatchStatus(ctx, batchID)
	if err != nil {
		return callErr("batch "+batchID, err)
	}
	if a.jsonOut {
		if err := a.printJSON(batchOutput{ID: batchID, BatchStatus: st}); err != nil {
			return err
		}
		return batchOutcome(st)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "batch\t%s\n", batchID)
	fmt.Fprintf(w, "status\t%s\n", printable(st.StatusMessage))
	fmt.Fprintf(w, "posted\t%s\n", timestamp(st.PostDateTime))
	if st.Completed {
		fmt.Fprintf(w, "completed\t%s\n", timestamp(st.CompletedDateTime))
	}
	fmt.Fprintf(w, "tasks\t%s\n", countTasks(st))
	w.Flush()
	if len(st.Tasks) > 0 {
		fmt.Fprintln(a.stdout)
		w = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "TASK\tCOMPLETED\tERRORS")
		for _, t := range st.Tasks {
			fmt.Fprintf(w, "%s\t%s\t%s\n", printable(t.ID), yesNo(t.Completed), yesNo(t.Errors))
		}
		w.Flush()
	}
	return batchOutcome(st)
}

func (a *app) taskStatus(ctx context.Context, client *dynamo.Client, batchID, taskID string) error {
	st, err := client.GetBatchTaskStatus(ctx, batchID, taskID)
	if err != nil {
		return callErr("task "+taskID+" of batch "+batchID, err)
	}
	if a.jsonOut {
		if err := a.printJSON(taskOutput{BatchID: batchID, ID: taskID, TaskStatus: st}); err != nil {
			return err
		}
	} else {
		a.printTaskStatus(st, "batch", batchID)
	}
	return taskOutcome(st)
}

// printTaskStatus prints a task's status as a table; before are rows to
// show after the task's ID, as name and value pairs.
func (a *app) printTaskStatus(st *dynamo.TaskStatus, before ...string) {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "task\t%s\n", printable(st.TaskID))
	for i := 0; i+1 < len(before); i += 2 {
		fmt.Fprintf(w, "%s\t%s\n", before[i], printable(before[i+1]))
	}
	fmt.Fprintf(w, "status\t%s\n", printable(st.StatusMessage))
	if st.StatusDescription != "" && st.StatusDescription != st.StatusMessage {
		fmt.Fprintf(w, "description\t%s\n", printable(st.StatusDescription))
	}
	fmt.Fprintf(w, "started\t%s\n", timestamp(st.StartDateTime))
	fmt.Fprintf(w, "ended\t%s\n", timestamp(st.EndDateTime))
	fmt.Fprintf(w, "completed\t%s\n", yesNo(st.Completed))
	fmt.Fprintf(w, "errors\t%s\n", yesNo(st.Errors))
	for _, r := range resultIDs(st) {
		fmt.Fprintf(w, "result\t%s\n", printable(r))
	}
	for _, l := range st.Log {
		fmt.Fprintf(w, "log\t%s\n", printable(l))
	}
	w.Flush()
}

// resultIDs are the IDs of a task's result files: those of its resultList,
// or of the deprecated results list when the API sent only that.
func resultIDs(st *dynamo.TaskStatus) []string {
	if len(st.ResultList) == 0 {
		return st.Results
	}
	ids := make([]string, len(st.ResultList))
	for i, r := range st.ResultList {
		ids[i] = r.ID
	}
	return ids
}

// taskOutcome is the exit of a command that showed a task's status.
func taskOutcome(st *dynamo.TaskStatus) error {
	if st.Completed && st.Errors {
		return errTaskErrors
	}
	return nil
}

func timestamp(t dynamo.Timestamp) string {
	switch {
	case !t.Time.IsZero():
		return t.Time.Format("2006-01-02 15:04:05.000 MST")
	case t.Raw != "":
		return printable(t.Raw)
	}
	return "-"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printable keeps a text from the server on one line and free of control
// characters, so that it cannot move the cursor or change the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
}
