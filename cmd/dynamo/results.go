package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

func (a *app) resultsCommand() *cobra.Command {
	var f resultsFlags
	c := &cobra.Command{
		Use:   "results BATCH --out DIR",
		Short: "Download every result file of a batch",
		Long: `Download every result file of every task of the batch into DIR/<task>/<result>.

Download URLs are valid for about an hour after a task completes; the files
are fetched without the API's credentials. A task or result ID that is not a
plain file name (a path separator, "..", a control character) is refused, and
nothing is ever written outside DIR. Existing files are replaced.

Exit code 1 when a download failed or some tasks have not completed yet,
3 when every available file was downloaded but some tasks had errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error { return a.results(ctx, args[0], &f) }),
	}
	f.register(c)
	return c
}

func (f *resultsFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.out, "out", "", "the `directory` to write the files into (created if missing)")
	c.Flags().IntVar(&f.concurrency, "concurrency", 4, "how many files to download at once")
}

// resultsOutput is what results prints with --json.
type resultsOutput struct {
	Batch         string     `json:"batch"`
	Tasks         int        `json:"tasks"`
	NotCompleted  []string   `json:"notCompleted"`
	WithErrors    []string   `json:"withErrors"`
	Files         []download `json:"files"`
	FailedFiles   int        `json:"failedFiles"`
	DownloadedDir string     `json:"dir"`
}

func (a *app) results(ctx context.Context, batchID string, f *resultsFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	d, err := a.newDownloader(ctx, client, f)
	if err != nil {
		return err
	}
	out := resultsOutput{Batch: batchID, DownloadedDir: f.out, NotCompleted: []string{}, WithErrors: []string{}}
	batchErr := a.planDownloads(ctx, client, batchID, d, &out)
	out.Files, out.FailedFiles = d.close()
	if batchErr != nil {
		return batchErr
	}
	if err := a.printResults(&out); err != nil {
		return err
	}
	return resultsOutcome(&out)
}

// planDownloads reads the status of every task of the batch and hands each
// completed task's results to d. The error is a failure to read the batch.
func (a *app) planDownloads(ctx context.Context, client *dynamo.Client, batchID string, d *downloader, out *resultsOutput) error {
	for ts, err := range client.BatchTaskStatuses(ctx, batchID) {
		var taskErr *dynamo.BatchTaskStatusError
		if err != nil && !errors.As(err, &taskErr) {
			return callErr("batch "+batchID, err)
		}
		out.Tasks++
		if err != nil {
			d.fail(taskErr.TaskID, "", callErr("task status", taskErr.Err))
			continue
		}
		if !ts.Completed {
			out.NotCompleted = append(out.NotCompleted, ts.TaskID)
			continue
		}
		if ts.Errors {
			out.WithErrors = append(out.WithErrors, ts.TaskID)
		}
		for _, r := range ts.ResultList {
			rel, err := resultPath(ts.TaskID, r.ID)
			if err != nil {
				d.fail(ts.TaskID, r.ID, err)
				continue
			}
			d.add(ts.TaskID, r, rel)
		}
	}
	return nil
}

func (a *app) printResults(out *resultsOutput) error {
	if a.jsonOut {
		return a.printJSON(out)
	}
	fmt.Fprintf(a.stdout, "batch %s: %d files downloaded into %s", out.Batch, len(out.Files)-out.FailedFiles, out.DownloadedDir)
	if out.FailedFiles > 0 {
		fmt.Fprintf(a.stdout, ", %d failed", out.FailedFiles)
	}
	fmt.Fprintln(a.stdout)
	if len(out.WithErrors) > 0 && out.FailedFiles == 0 && len(out.NotCompleted) == 0 {
		fmt.Fprintf(a.stdout, "%d of %d tasks had errors: see 'dynamo status %s'\n", len(out.WithErrors), out.Tasks, out.Batch)
	}
	return nil
}

// resultsOutcome is the exit of results: a failed download first, then
// tasks not completed, then task errors.
func resultsOutcome(out *resultsOutput) error {
	switch {
	case out.FailedFiles > 0:
		return fmt.Errorf("%d of %d result files could not be downloaded", out.FailedFiles, len(out.Files))
	case len(out.NotCompleted) > 0:
		return fmt.Errorf("%d of %d tasks have not completed yet: run 'dynamo wait %s', then results again", len(out.NotCompleted), out.Tasks, out.Batch)
	case len(out.WithErrors) > 0:
		return errTaskErrors
	}
	return nil
}
