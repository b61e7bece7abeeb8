package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

type resultsFlags struct {
	out         string
	concurrency int
}

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
	c.Flags().StringVar(&f.out, "out", "", "the `directory` to write the files into (created if missing)")
	c.Flags().IntVar(&f.concurrency, "concurrency", 4, "how many files to download at once")
	return c
}

// download is one result file, as reported with --json.
type download struct {
	Task   string `json:"task"`
	Result string `json:"result"`
	Path   string `json:"path,omitempty"`
	Bytes  int64  `json:"bytes"`
	Error  string `json:"error,omitempty"`
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
	if f.out == "" {
		return usageErrorf("results: --out DIR is required")
	}
	if f.concurrency < 1 {
		return usageErrorf("--concurrency %d: must be at least 1", f.concurrency)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return usageErrorf("--out %s: %s", f.out, openProblem(err))
	}
	root, err := os.OpenRoot(f.out)
	if err != nil {
		return usageErrorf("--out %s: %s", f.out, openProblem(err))
	}
	defer root.Close()
	client, err := a.client()
	if err != nil {
		return err
	}

	out := resultsOutput{Batch: batchID, DownloadedDir: f.out, NotCompleted: []string{}, WithErrors: []string{}, Files: []download{}}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		jobs = make(chan job)
	)
	record := func(d download) {
		mu.Lock()
		defer mu.Unlock()
		out.Files = append(out.Files, d)
		if d.Error != "" {
			out.FailedFiles++
		}
		if !a.jsonOut {
			if d.Error != "" {
				fmt.Fprintf(a.stderr, "dynamo: task %s result %s: %s\n", printable(d.Task), printable(d.Result), printable(d.Error))
			} else {
				fmt.Fprintf(a.stdout, "%s (%d bytes)\n", d.Path, d.Bytes)
			}
		}
	}
	for range f.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				d := download{Task: j.task, Result: j.result.ID, Path: filepath.Join(f.out, j.rel)}
				n, err := downloadTo(ctx, client, root, j.rel, j.result)
				d.Bytes = n
				if err != nil {
					d.Error = err.Error()
				}
				record(d)
			}
		}()
	}

	var batchErr error
	names := make(map[string]bool) // the files of this run, to refuse two results of one name
	for ts, err := range client.TaskStatuses(ctx, batchID) {
		var taskErr *dynamo.TaskStatusError
		if err != nil && !errors.As(err, &taskErr) {
			batchErr = callErr("batch "+batchID, err)
			break
		}
		out.Tasks++
		if err != nil {
			record(download{Task: taskErr.TaskID, Error: callErr("task status", taskErr.Err).Error()})
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
			// Case-insensitive file systems would merge names that differ in case only.
			if err == nil && names[strings.ToLower(rel)] {
				err = errors.New("another result of the task has the same file name")
			}
			if err != nil {
				record(download{Task: ts.TaskID, Result: r.ID, Error: err.Error()})
				continue
			}
			names[strings.ToLower(rel)] = true
			jobs <- job{task: ts.TaskID, result: r, rel: rel}
		}
	}
	close(jobs)
	wg.Wait()
	if batchErr != nil {
		return batchErr
	}
	sort.Slice(out.Files, func(i, j int) bool {
		fi, fj := out.Files[i], out.Files[j]
		return fi.Task < fj.Task || fi.Task == fj.Task && fi.Result < fj.Result
	})

	if a.jsonOut {
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "batch %s: %d files downloaded into %s", batchID, len(out.Files)-out.FailedFiles, f.out)
		if out.FailedFiles > 0 {
			fmt.Fprintf(a.stdout, ", %d failed", out.FailedFiles)
		}
		fmt.Fprintln(a.stdout)
	}
	switch {
	case out.FailedFiles > 0:
		return fmt.Errorf("%d of %d result files could not be downloaded", out.FailedFiles, len(out.Files))
	case len(out.NotCompleted) > 0:
		return fmt.Errorf("%d of %d tasks have not completed yet: run 'dynamo wait %s', then results again", len(out.NotCompleted), out.Tasks, batchID)
	case len(out.WithErrors) > 0:
		if !a.jsonOut {
			fmt.Fprintf(a.stdout, "%d of %d tasks had errors: see 'dynamo status %s'\n", len(out.WithErrors), out.Tasks, batchID)
		}
		return errTaskErrors
	}
	return nil
}

// job is one result file to download into rel below the output directory.
type job struct {
	task   string
	result dynamo.Result
	rel    string
}

// resultPath is where a task's result goes below the output directory:
// <taskID>/<resultID>, each checked to be one plain file name.
func resultPath(taskID, resultID string) (string, error) {
	if err := checkFileName(taskID); err != nil {
		return "", fmt.Errorf("task ID %q: %v", taskID, err)
	}
	if err := checkFileName(resultID); err != nil {
		return "", fmt.Errorf("result ID %q: %v", resultID, err)
	}
	return filepath.Join(taskID, resultID), nil
}

// checkFileName refuses a name from the server that is not a single, plain
// file name: one that could climb out of the output directory, name a
// subdirectory, or hide control characters.
func checkFileName(name string) error {
	switch {
	case name == "":
		return errors.New("empty, refused as a file name")
	case name == "." || name == "..":
		return errors.New("refused as a file name")
	case strings.ContainsAny(name, `/\`):
		return errors.New("contains a path separator, refused as a file name")
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.ContainsRune(name, 0):
		return errors.New("contains a control character, refused as a file name")
	case strings.ContainsAny(name, `:*?"<>|`) && os.PathSeparator == '\\':
		return errors.New("contains a character Windows does not allow in file names")
	case !filepath.IsLocal(name):
		return errors.New("not a plain file name, refused")
	}
	return nil
}

// downloadTo streams the result r into the file rel below root, through a
// temporary file renamed into place once complete, so that an interrupted
// download never leaves a truncated file under the result's name.
func downloadTo(ctx context.Context, client *dynamo.Client, root *os.Root, rel string, r dynamo.Result) (int64, error) {
	if err := root.Mkdir(filepath.Dir(rel), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, err
	}
	tmp := rel + ".part"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := client.DownloadResult(ctx, r, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return n, callErr("download", err)
	}
	return n, nil
}
