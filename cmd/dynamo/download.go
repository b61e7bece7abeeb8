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

	"github.com/dynamokit/dynamo"
)

// download is one result file, as reported with --json.
type download struct {
	Task   string `json:"task"`
	Result string `json:"result"`
	Path   string `json:"path,omitempty"`
	Bytes  int64  `json:"bytes"`
	Error  string `json:"error,omitempty"`
}

// downloader writes result files below one directory, a few at a time, and
// never anywhere else: every name from the server is checked to be a plain
// file name, and every file is opened through an os.Root of the directory.
type downloader struct {
	a      *app
	ctx    context.Context
	client *dynamo.Client
	dir    string
	root   *os.Root
	jobs   chan fileJob
	wg     sync.WaitGroup

	mu     sync.Mutex
	names  map[string]bool // the files of this run, to refuse two results of one name
	files  []download
	failed int
}

// fileJob is one result file to download into rel below the directory.
type fileJob struct {
	task   string
	result dynamo.Result
	rel    string
}

// resultsFlags are the flags of the commands that download results.
type resultsFlags struct {
	out         string
	concurrency int
}

// newDownloader creates the directory of --out if need be and starts
// --concurrency downloads at most at once. Call close when every file has
// been added.
func (a *app) newDownloader(ctx context.Context, client *dynamo.Client, f *resultsFlags) (*downloader, error) {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return nil, usageErrorf("--out %s: %s", f.out, openProblem(err))
	}
	root, err := os.OpenRoot(f.out)
	if err != nil {
		return nil, usageErrorf("--out %s: %s", f.out, openProblem(err))
	}
	d := &downloader{a: a, ctx: ctx, client: client, dir: f.out, root: root,
		jobs: make(chan fileJob), names: make(map[string]bool), files: []download{}}
	for range f.concurrency {
		d.wg.Add(1)
		go d.work()
	}
	return d, nil
}

// check checks the flags before anything is asked of the API.
func (f *resultsFlags) check() error {
	switch {
	case f.out == "":
		return usageErrorf("--out DIR is required")
	case f.concurrency < 1:
		return usageErrorf("--concurrency %d: must be at least 1", f.concurrency)
	}
	return nil
}

func (d *downloader) work() {
	defer d.wg.Done()
	for j := range d.jobs {
		n, err := d.fetch(j.rel, j.result)
		dl := download{Task: j.task, Result: j.result.ID, Path: filepath.Join(d.dir, j.rel), Bytes: n}
		if err != nil {
			dl.Error = err.Error()
		}
		d.record(dl)
	}
}

// add downloads the result r of task into rel, a path from resultPath,
// unless another result of this run already has the same name.
func (d *downloader) add(task string, r dynamo.Result, rel string) {
	key := strings.ToLower(rel) // case-insensitive file systems would merge names that differ in case only
	d.mu.Lock()
	dup := d.names[key]
	d.names[key] = true
	d.mu.Unlock()
	if dup {
		d.fail(task, r.ID, errors.New("another result has the same file name"))
		return
	}
	d.jobs <- fileJob{task: task, result: r, rel: rel}
}

// fail reports a result that is not downloaded.
func (d *downloader) fail(task, result string, err error) {
	d.record(download{Task: task, Result: result, Error: err.Error()})
}

func (d *downloader) record(dl download) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files = append(d.files, dl)
	if dl.Error != "" {
		d.failed++
	}
	if d.a.jsonOut {
		return
	}
	if dl.Error != "" {
		what := "task " + printable(dl.Task)
		if dl.Result != "" {
			what += " result " + printable(dl.Result)
		}
		fmt.Fprintf(d.a.stderr, "dynamo: %s: %s\n", what, printable(dl.Error))
	} else {
		fmt.Fprintf(d.a.stdout, "%s (%d bytes)\n", dl.Path, dl.Bytes)
	}
}

// close waits for the downloads and returns every file, sorted by task and
// result, and how many of them failed.
func (d *downloader) close() ([]download, int) {
	close(d.jobs)
	d.wg.Wait()
	d.root.Close()
	sort.Slice(d.files, func(i, j int) bool {
		fi, fj := d.files[i], d.files[j]
		return fi.Task < fj.Task || fi.Task == fj.Task && fi.Result < fj.Result
	})
	return d.files, d.failed
}

// fetch streams the result r into the file rel below the directory, through
// a temporary file renamed into place once complete, so that an interrupted
// download never leaves a truncated file under the result's name.
func (d *downloader) fetch(rel string, r dynamo.Result) (int64, error) {
	if dir := filepath.Dir(rel); dir != "." {
		if err := d.root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return 0, err
		}
	}
	tmp := rel + ".part"
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := d.client.DownloadResult(d.ctx, r, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, rel)
	}
	if err != nil {
		_ = d.root.Remove(tmp)
		return n, downloadErr(err)
	}
	return n, nil
}

// resultPath is where a result goes below the output directory:
// <taskID>/<resultID>, or <resultID> alone when taskID is "" (the one task
// of the Task API), each checked to be one plain file name.
func resultPath(taskID, resultID string) (string, error) {
	if err := checkFileName(resultID); err != nil {
		return "", fmt.Errorf("result ID %q: %v", resultID, err)
	}
	if taskID == "" {
		return resultID, nil
	}
	if err := checkFileName(taskID); err != nil {
		return "", fmt.Errorf("task ID %q: %v", taskID, err)
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
