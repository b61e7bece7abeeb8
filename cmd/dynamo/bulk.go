package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

// bulkWaiters bounds how many batches a bulk job follows at once; the others
// wait their turn (batches tend to complete in the order they were posted).
const bulkWaiters = 8

type bulkFlags struct {
	templateFlags
	csv           string
	dups          bool // --allow-duplicates
	parts         []string
	params        []string
	journal       string
	repostUnknown bool
	chunkSize     int
	concurrency   int
	noWait        bool
}

func (a *app) bulkCommand() *cobra.Command {
	var f bulkFlags
	c := &cobra.Command{
		Use:   "bulk (--template ID | --dap FILE) --csv FILE [flags]",
		Short: "Post any number of records as consecutive batches, then wait for them",
		Long: `Post every record of a CSV file (an id column; other columns become params) as
consecutive batches ("chunks") of up to --chunk-size records, then wait for
every batch and print a summary. The whole file is checked before anything is
posted: a record identical to an earlier one (the same id and params) refuses
it unless --allow-duplicates is given; an id repeated with other params is
posted, with a warning on stderr.

With --journal FILE each chunk's outcome is recorded as soon as it is known,
and a run with the same journal, template, chunk size and records skips the
chunks already accepted: re-run after a crash, an interruption or a failed
chunk to post only what is missing. A chunk whose post got no answer may or
may not have created its batch; it is not posted again unless
--repost-unknown is given (check first that its batch does not exist).

Batches that the journal records from an earlier run are followed too. With
--fake each run starts a new fake server that does not know them, so they
are reported as not followed instead.

Exit code 1 when a chunk could not be posted or a batch could not be
followed, 3 when every batch completed but some tasks had errors.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error { return a.bulk(ctx, &f) }),
	}
	fs := c.Flags()
	f.register(fs)
	fs.StringVar(&f.csv, "csv", "", "the CSV `file` of records: an id column, other columns become params")
	fs.BoolVar(&f.dups, "allow-duplicates", false, "post a record identical to an earlier one (same id and params) instead of refusing the file")
	fs.StringArrayVar(&f.parts, "part", nil, "an extra JSON part `name=file.json`, given to every task as the param name (repeatable; needs --dap)")
	fs.StringArrayVar(&f.params, "param", nil, "a param `key=value` for every task (repeatable)")
	fs.StringVar(&f.journal, "journal", "", "record each chunk's outcome in this `file`, and skip the chunks it records as accepted")
	fs.BoolVar(&f.repostUnknown, "repost-unknown", false, "post again the chunks the journal records with an unknown outcome")
	fs.IntVar(&f.chunkSize, "chunk-size", dynamo.MaxTasksPerBatch, "records per batch, 1 to 1000 (a journal's job keeps its size)")
	fs.IntVar(&f.concurrency, "concurrency", dynamo.DefaultBulkConcurrency, "how many chunks are posted at once")
	fs.BoolVar(&f.noWait, "no-wait", false, "post only; do not wait for the batches")
	return c
}

// Chunk states in bulk's report.
const (
	chunkPosted     = "posted"
	chunkSkipped    = "skipped"
	chunkFailed     = "failed"
	chunkUnknown    = "unknown"
	chunkNotStarted = "not-started"
)

// chunkReport is one chunk of a bulk job, as reported.
type chunkReport struct {
	Index   int    `json:"index"`
	First   int    `json:"first"`
	End     int    `json:"end"`
	State   string `json:"state"`
	BatchID string `json:"batchId,omitempty"`
	Error   string `json:"error,omitempty"`
	// Followed: the batch was waited for; Wait holds its last counts.
	Followed bool         `json:"followed"`
	Wait     *batchCounts `json:"wait,omitempty"`
	// WaitError says why the batch could not be followed.
	WaitError string `json:"waitError,omitempty"`
}

// batchCounts are a followed batch's task counts.
type batchCounts struct {
	Completed       bool   `json:"completed"`
	Errors          bool   `json:"errors"`
	StatusMessage   string `json:"statusMessage"`
	Tasks           int    `json:"tasks"`
	TasksCompleted  int    `json:"tasksCompleted"`
	TasksWithErrors int    `json:"tasksWithErrors"`
}

// bulkReport is what bulk prints with --json.
type bulkReport struct {
	Records    int           `json:"records"`
	ChunkSize  int           `json:"chunkSize"`
	Journal    string        `json:"journal,omitempty"`
	Posted     int           `json:"posted"`
	Skipped    int           `json:"skipped"`
	Failed     int           `json:"failed"`
	Unknown    int           `json:"unknown"`
	NotStarted int           `json:"notStarted"`
	Waited     bool          `json:"waited"`
	Tasks      taskTotals    `json:"tasks"`
	Chunks     []chunkReport `json:"chunks"`
}

// taskTotals add up the followed batches.
type taskTotals struct {
	Followed   int `json:"followed"`
	Completed  int `json:"completed"`
	WithErrors int `json:"withErrors"`
	// NotFollowed counts the records of accepted batches that were not
	// followed (see chunkReport.WaitError).
	NotFollowed int `json:"notFollowed"`
}

func (a *app) bulk(ctx context.Context, f *bulkFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	switch {
	case f.csv == "":
		return usageErrorf("bulk: --csv FILE is required")
	case f.chunkSize < 1 || f.chunkSize > dynamo.MaxTasksPerBatch:
		return usageErrorf("--chunk-size %d: must be between 1 and %d", f.chunkSize, dynamo.MaxTasksPerBatch)
	case f.concurrency < 1:
		return usageErrorf("--concurrency %d: must be at least 1", f.concurrency)
	case f.repostUnknown && f.journal == "":
		return usageErrorf("--repost-unknown needs --journal: it reposts the chunks a journal records as unknown")
	case len(f.parts) > 0 && f.dap == "":
		return usageErrorf("--part needs an embedded template (--dap FILE): parts cannot go with --template")
	}
	params, err := parseParams(f.params)
	if err != nil {
		return err
	}
	parts, err := parseParts(f.parts, params)
	if err != nil {
		return err
	}
	in, err := a.integration()
	if err != nil {
		return err
	}
	b := &dynamo.Batch{Template: f.template, Integration: in}
	if b.Tasks, err = readAllCSV(f.csv, params, parts, -1, duplicatePolicy{allow: f.dups, warn: a.stderr}); err != nil {
		return usageErr(err)
	}
	opts := []dynamo.BulkOption{
		dynamo.WithChunkSize(f.chunkSize),
		dynamo.WithBulkConcurrency(f.concurrency),
	}
	if f.dap != "" {
		tmpl, err := f.open()
		if err != nil {
			return err
		}
		if err := attachParts(b, parts); err != nil {
			return err
		}
		opts = append(opts, dynamo.WithBulkTemplate(tmpl))
	}
	if f.journal != "" {
		opts = append(opts, dynamo.WithJournal(f.journal))
	}
	if f.repostUnknown {
		opts = append(opts, dynamo.WithRepostUnknown())
	}
	client, err := a.client()
	if err != nil {
		return err
	}

	nChunks := (len(b.Tasks) + f.chunkSize - 1) / f.chunkSize
	rep := &bulkReport{Records: len(b.Tasks), ChunkSize: f.chunkSize, Journal: f.journal, Waited: !f.noWait, Chunks: make([]chunkReport, nChunks)}
	p := a.newProgress("bulk")
	p.log(fmt.Sprintf("bulk: %d records from %s in %d chunks of up to %d", len(b.Tasks), f.csv, nChunks, f.chunkSize))
	w := &bulkWaiter{a: a, ctx: ctx, client: client, p: p, rep: rep, expected: len(b.Tasks),
		sem: make(chan struct{}, bulkWaiters), counts: make(map[int]counts)}
	opts = append(opts, dynamo.WithChunkDone(func(ch dynamo.ChunkResult) {
		cr := w.chunkDone(ch)
		switch {
		case f.noWait || cr.BatchID == "":
			p.log(chunkLine(cr))
			w.drop(ch.End - ch.First)
		case cr.State == chunkSkipped && a.fake:
			// The batch lives in the fake server of the run that posted it.
			w.notFollowed(ch.Index, "posted by an earlier run to another fake server")
			p.log(chunkLine(cr) + " (not followed: " + cr.WaitError + ")")
		default:
			p.log(chunkLine(cr))
			w.follow(ch.Index, ch.End-ch.First)
		}
	}))

	result, postErr := client.PostBulk(ctx, b, opts...)
	w.wg.Wait()
	p.finish()
	if result == nil { // nothing was posted
		return bulkSetupErr(postErr)
	}
	for _, ch := range result.Chunks {
		// Only the chunks that the job stopped before starting were not
		// reported to the callback.
		if cr := &rep.Chunks[ch.Index]; cr.State == "" {
			*cr = chunkReport{Index: ch.Index, First: ch.First, End: ch.End, State: chunkNotStarted}
			if ch.Err != nil {
				cr.Error = ch.Err.Error()
			}
			rep.NotStarted++
		}
	}
	a.printBulkReport(rep)
	switch {
	case postErr != nil:
		return bulkStopped(callErr("bulk post", postErr), rep, f.journal)
	case rep.Failed+rep.Unknown+rep.NotStarted > 0:
		return bulkStopped(fmt.Errorf("%d of %d chunks were not accepted:\n%v", rep.Failed+rep.Unknown+rep.NotStarted, nChunks, result.Err()), rep, f.journal)
	case w.waitErrors > 0:
		return fmt.Errorf("%d batches could not be followed to their end", w.waitErrors)
	case countErrs(result) > 0:
		return fmt.Errorf("%d chunks were accepted with an unexpected number of task IDs:\n%v", countErrs(result), result.Err())
	case rep.Tasks.WithErrors > 0:
		return errTaskErrors
	}
	return nil
}

// countErrs counts the chunks accepted with an unexpected number of task IDs.
func countErrs(r *dynamo.BulkReport) int {
	n := 0
	for _, ch := range r.Chunks {
		var tce *dynamo.TaskCountError
		if errors.As(ch.Err, &tce) {
			n++
		}
	}
	return n
}

// bulkSetupErr classifies a bulk job that stopped before posting anything.
func bulkSetupErr(err error) error {
	var ve *dynamo.ValidationError
	switch {
	case errors.As(err, &ve):
		return validationErr(err)
	case errors.Is(err, dynamo.ErrJournalMismatch):
		return usageErr(err)
	}
	return callErr("bulk post", err)
}

// bulkStopped adds how to go on to a bulk job's failure.
func bulkStopped(err error, rep *bulkReport, journal string) error {
	var hints []string
	switch {
	case journal == "":
		hints = append(hints, "without --journal, running the job again posts every record again")
	case rep.Failed+rep.NotStarted > 0:
		hints = append(hints, fmt.Sprintf("run the same command again, with --journal %s, to post only the chunks not accepted", journal))
	}
	if rep.Unknown > 0 && journal != "" {
		hints = append(hints, "a chunk of unknown outcome is not posted again: once you know its batch was not created, run again with --repost-unknown")
	}
	if len(hints) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s", err, strings.Join(hints, "\n"))
}

func chunkLine(cr *chunkReport) string {
	s := fmt.Sprintf("chunk %d, records [%d, %d): %s", cr.Index, cr.First, cr.End, cr.State)
	if cr.BatchID != "" {
		s += ", batch " + printable(cr.BatchID)
	}
	if cr.Error != "" {
		s += ": " + printable(cr.Error)
	}
	return s
}

// bulkWaiter follows the batches of a bulk job as they are accepted, and
// adds up their progress.
type bulkWaiter struct {
	a      *app
	ctx    context.Context
	client *dynamo.Client
	p      progress
	sem    chan struct{}
	wg     sync.WaitGroup

	mu         sync.Mutex
	rep        *bulkReport
	expected   int            // records that may still complete: the progress total
	counts     map[int]counts // by chunk index, the latest of each followed batch
	waitErrors int
}

// chunkDone records a chunk's outcome in the report.
func (w *bulkWaiter) chunkDone(ch dynamo.ChunkResult) *chunkReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	cr := &w.rep.Chunks[ch.Index]
	*cr = chunkReport{Index: ch.Index, First: ch.First, End: ch.End, BatchID: ch.BatchID}
	if ch.Err != nil {
		cr.Error = ch.Err.Error()
	}
	switch {
	case ch.State == dynamo.ChunkSkipped:
		cr.State = chunkSkipped
		w.rep.Skipped++
	case ch.BatchID != "":
		cr.State = chunkPosted
		w.rep.Posted++
	case errors.Is(ch.Err, dynamo.ErrOutcomeUnknown):
		cr.State = chunkUnknown
		w.rep.Unknown++
	default:
		cr.State = chunkFailed
		w.rep.Failed++
	}
	return cr
}

// drop removes records that will never complete from the progress total.
func (w *bulkWaiter) drop(records int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected -= records
	w.p.setTotal(w.expected)
}

// notFollowed reports an accepted batch that is not waited for.
func (w *bulkWaiter) notFollowed(index int, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cr := &w.rep.Chunks[index]
	cr.WaitError = why
	w.rep.Tasks.NotFollowed += cr.End - cr.First
	w.expected -= cr.End - cr.First
	w.p.setTotal(w.expected)
}

// follow waits for the chunk's batch in the background.
func (w *bulkWaiter) follow(index, records int) {
	w.mu.Lock()
	batchID := w.rep.Chunks[index].BatchID
	w.counts[index] = counts{total: records}
	w.updateLocked()
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		select {
		case w.sem <- struct{}{}:
			defer func() { <-w.sem }()
		case <-w.ctx.Done():
			w.waited(index, records, nil, w.ctx.Err())
			return
		}
		st, err := w.client.WaitBatch(w.ctx, batchID, w.a.waitOptions(func(st *dynamo.BatchStatus) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.counts[index] = countTasks(st)
			w.updateLocked()
		})...)
		w.waited(index, records, st, err)
	}()
}

// waited records the end of a batch's wait.
func (w *bulkWaiter) waited(index, records int, st *dynamo.BatchStatus, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cr := &w.rep.Chunks[index]
	if err != nil {
		delete(w.counts, index)
		w.expected -= records
		w.updateLocked()
		var msg string
		switch {
		case errors.Is(err, dynamo.ErrNotFound) && cr.State == chunkSkipped:
			// Recorded by an earlier run: the API keeps a batch's status for
			// 24 hours only.
			cr.WaitError = "the API no longer knows this batch (status is kept 24 hours after posting)"
			w.rep.Tasks.NotFollowed += records
			msg = cr.WaitError
		default:
			cr.WaitError = callErr("waiting", err).Error()
			w.waitErrors++
			msg = cr.WaitError
		}
		w.p.log(fmt.Sprintf("chunk %d, batch %s: not followed: %s", index, printable(cr.BatchID), printable(msg)))
		return
	}
	c := countTasks(st)
	w.counts[index] = c
	w.updateLocked()
	cr.Followed = true
	cr.Wait = &batchCounts{Completed: st.Completed, Errors: st.Errors, StatusMessage: st.StatusMessage,
		Tasks: c.total, TasksCompleted: c.completed, TasksWithErrors: c.errors}
	w.rep.Tasks.Followed += c.total
	w.rep.Tasks.Completed += c.completed
	w.rep.Tasks.WithErrors += c.errors
	if c.errors == 0 && st.Errors {
		w.rep.Tasks.WithErrors++ // a processing error of the batch itself
	}
}

// updateLocked reports the sum of the followed batches; w.mu is held.
func (w *bulkWaiter) updateLocked() {
	var sum counts
	for _, c := range w.counts {
		sum.completed += c.completed
		sum.errors += c.errors
	}
	w.p.update(sum.completed, sum.errors, w.expected)
}

func (a *app) printBulkReport(rep *bulkReport) {
	if a.jsonOut {
		_ = a.printJSON(rep)
		return
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CHUNK\tRECORDS\tSTATE\tBATCH\tCOMPLETED\tERRORS")
	for _, cr := range rep.Chunks {
		batch, done, errs := "-", "-", "-"
		if cr.BatchID != "" {
			batch = printable(cr.BatchID)
		}
		if cr.Wait != nil {
			done = fmt.Sprintf("%d/%d", cr.Wait.TasksCompleted, cr.Wait.Tasks)
			errs = fmt.Sprint(cr.Wait.TasksWithErrors)
		} else if cr.WaitError != "" {
			done = "not followed"
		}
		fmt.Fprintf(w, "%d\t[%d, %d)\t%s\t%s\t%s\t%s\n", cr.Index, cr.First, cr.End, cr.State, batch, done, errs)
	}
	w.Flush()
	fmt.Fprintf(a.stdout, "chunks: %d posted, %d skipped (accepted by an earlier run), %d failed, %d unknown, %d not started\n",
		rep.Posted, rep.Skipped, rep.Failed, rep.Unknown, rep.NotStarted)
	if !rep.Waited {
		fmt.Fprintln(a.stdout, "tasks: not waited for (--no-wait)")
		return
	}
	fmt.Fprintf(a.stdout, "tasks: %d completed, %d with errors, of %d records", rep.Tasks.Completed, rep.Tasks.WithErrors, rep.Records)
	if rep.Tasks.NotFollowed > 0 {
		fmt.Fprintf(a.stdout, " (%d in batches not followed)", rep.Tasks.NotFollowed)
	}
	fmt.Fprintln(a.stdout)
}
