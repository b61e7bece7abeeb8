package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultBulkConcurrency is how many chunks PostBulk posts at once unless
// WithBulkConcurrency says otherwise.
const DefaultBulkConcurrency = 2

// BulkOption configures PostBulk. An option given an invalid value makes
// PostBulk fail before anything is posted.
type BulkOption func(*bulkConfig)

type bulkConfig struct {
	chunkSize     int
	concurrency   int
	template      *Template // embedded in every chunk; nil to post by reference
	journalPath   string
	repostUnknown bool
	chunkDone     func(ChunkResult)
	errs          []error
}

// WithChunkSize sets how many records go into each batch, from 1 to
// MaxTasksPerBatch (the default). It also fixes every chunk's record range,
// so a job resumed from its journal must use the same size.
func WithChunkSize(n int) BulkOption {
	return func(c *bulkConfig) {
		if n < 1 || n > MaxTasksPerBatch {
			c.errs = append(c.errs, fmt.Errorf("WithChunkSize: %d is not between 1 and %d", n, MaxTasksPerBatch))
			return
		}
		c.chunkSize = n
	}
}

// WithBulkConcurrency sets how many chunks are posted at once (default
// DefaultBulkConcurrency); n must be at least 1.
func WithBulkConcurrency(n int) BulkOption {
	return func(c *bulkConfig) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("WithBulkConcurrency: %d is less than 1", n))
			return
		}
		c.concurrency = n
	}
}

// WithBulkTemplate embeds t in every chunk's post, as PostBatchWithTemplate
// does, instead of referring to b.Template, which must then be empty. t is
// opened once per chunk and attempt, possibly by several chunks at once, so
// it must be re-openable: a template from TemplateFromReader is refused.
func WithBulkTemplate(t Template) BulkOption {
	return func(c *bulkConfig) { c.template = &t }
}

// WithJournal makes PostBulk record each chunk's outcome in the file at path
// as soon as it is known, and resume from it: a job run again with the same
// journal skips the chunks it records as accepted, so that no record is
// posted twice across a crash or a cancelled run. The file is created if
// need be; it holds no secret. Only one run may use a journal at a time.
//
// The file has one JSON object per line, one line per finished chunk, the
// last line for a chunk in force:
//
//	{"v":1,"job":"<sha256>","chunk":2,"first":2000,"end":2500,"tasksSHA256":"<sha256>",
//	 "state":"accepted","batchID":"…","taskIDs":["…"],"time":"2024-01-31T18:02:03.5Z"}
//
// "job" is a fingerprint of the tenant, the template (its reference, or the
// embedded file's name and size) and the chunk size; "tasksSHA256" is a hash
// of the chunk's tasks as JSON. "state" is "accepted" (with the batch and
// task IDs), "unknown" (the post may have created the batch; "error" says why
// it is not known) or "failed" (nothing was created; "error" says why).
//
// On a run with a journal, a chunk recorded as accepted, with the same
// records, is not posted again (ChunkResult.Skipped). A chunk recorded as
// unknown is not posted again either, unless WithRepostUnknown is given: its
// result carries an error that matches ErrOutcomeUnknown. A chunk recorded as
// failed is posted again, even if its records changed since. A journal that
// records an accepted or unknown chunk with other records, or lines of
// another job, makes PostBulk fail with ErrJournalMismatch before posting
// anything. A last line cut short by a crash
// is removed; any other unreadable line is an error that names it.
func WithJournal(path string) BulkOption {
	return func(c *bulkConfig) {
		if path == "" {
			c.errs = append(c.errs, errors.New("WithJournal: empty path"))
			return
		}
		c.journalPath = path
	}
}

// WithRepostUnknown posts again the chunks that the journal records with an
// unknown outcome. Use it only once you know that their batches were not
// created: otherwise their records are processed, and licensed, twice.
func WithRepostUnknown() BulkOption {
	return func(c *bulkConfig) { c.repostUnknown = true }
}

// WithChunkDone calls fn once for every chunk that is posted, fails, or is
// left alone because of the journal, as soon as its outcome is known (and
// recorded in the journal). Calls are never concurrent; they are made on the
// goroutine that called PostBulk, so fn may cancel PostBulk's context to stop
// the job: no chunk starts after that. While fn runs, no new chunk starts.
func WithChunkDone(fn func(ChunkResult)) BulkOption {
	return func(c *bulkConfig) { c.chunkDone = fn }
}

// ChunkResult is the outcome of one chunk of a bulk post.
type ChunkResult struct {
	// Index is the chunk's position in the job, from 0.
	Index int
	// First and End delimit the chunk's records: b.Tasks[First:End].
	First, End int
	// BatchID and TaskIDs are the accepted batch's IDs, one task ID per
	// record, in record order; empty when the chunk was not accepted.
	BatchID string
	TaskIDs []string
	// Skipped reports a chunk that the journal records as accepted by an
	// earlier run: it was not posted again, and its IDs come from the journal.
	Skipped bool
	// Err is nil when the chunk was accepted. It matches ErrOutcomeUnknown
	// when the batch may or may not have been created, and is a
	// *TaskCountError (with BatchID set) when the batch was accepted with an
	// unexpected number of task IDs.
	Err error
}

// BulkReport is what PostBulk did, chunk by chunk.
type BulkReport struct {
	// Chunks holds every chunk of the job, in index order, including those
	// not started because the job stopped (their Err says so).
	Chunks []ChunkResult
	// Posted counts the chunks that this run posted and the API accepted.
	Posted int
	// Skipped counts the chunks accepted by an earlier run, per the journal.
	Skipped int
	// Failed counts the chunks whose post failed in a way that created nothing.
	Failed int
	// Unknown counts the chunks whose batch may or may not exist: posted by
	// this run without an answer, or recorded so by the journal.
	Unknown int
	// NotStarted counts the chunks not posted because the job stopped first.
	NotStarted int
}

// Err returns nil when every chunk was accepted (by this run or, per the
// journal, an earlier one) with the expected task IDs. Otherwise it joins
// the chunks' errors, each prefixed by its record range, like "records
// [2000, 2500): …"; consecutive chunks that were not started are reported
// together.
func (r *BulkReport) Err() error {
	var errs []error
	var run []ChunkResult // consecutive chunks not started
	flush := func() {
		switch len(run) {
		case 0:
			return
		case 1:
			errs = append(errs, fmt.Errorf("records [%d, %d): %w", run[0].First, run[0].End, run[0].Err))
		default:
			errs = append(errs, fmt.Errorf("records [%d, %d) (%d chunks): %w", run[0].First, run[len(run)-1].End, len(run), run[0].Err))
		}
		run = nil
	}
	for _, ch := range r.Chunks {
		var ns *notStartedError
		if errors.As(ch.Err, &ns) {
			run = append(run, ch)
			continue
		}
		flush()
		if ch.Err != nil {
			errs = append(errs, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
		}
	}
	flush()
	return errors.Join(errs...)
}

// TaskIDs returns one entry per record of the job, in record order: the
// record's task ID, or "" when its chunk was not accepted (or was accepted
// with a different number of task IDs than records).
func (r *BulkReport) TaskIDs() []string {
	n := 0
	for _, ch := range r.Chunks {
		n = max(n, ch.End)
	}
	ids := make([]string, n)
	for _, ch := range r.Chunks {
		if ch.BatchID != "" && len(ch.TaskIDs) == ch.End-ch.First {
			copy(ids[ch.First:ch.End], ch.TaskIDs)
		}
	}
	return ids
}

// notStartedError is the Err of a chunk that was never posted because the
// job stopped first.
type notStartedError struct{ cause error }

func (e *notStartedError) Error() string {
	return "dynamo: not posted, the job stopped first: " + e.cause.Error()
}

func (e *notStartedError) Unwrap() error { return e.cause }

// PostBulk posts any number of tasks as consecutive batches ("chunks") of
// at most MaxTasksPerBatch tasks (or the WithChunkSize value) each. Every
// chunk has b's Template, Integration and Parts, and is posted with PostBatch
// (or PostBatchWithTemplate with WithBulkTemplate), so each one follows their
// validation, retry and outcome rules. Up to DefaultBulkConcurrency chunks
// (or the WithBulkConcurrency value) are in flight at once, started in index
// order.
//
// Every chunk is validated before any is posted: an invalid job fails with a
// *ValidationError whose fields number records across the whole job, like
// "tasks[2503].params.id", and nothing is sent.
//
// A chunk that fails does not stop the others: the report says which chunks
// were accepted and why the others were not (see BulkReport.Err). PostBulk's
// own error is for what stops the whole job: invalid options or input, a
// journal that cannot be read or written or belongs to another job (see
// WithJournal), or ctx being done. When ctx ends the job, no other chunk
// starts, and the report so far is returned along with an error matching
// ctx's. Posts in flight end with ctx, and one whose request was already
// sent has an unknown outcome; to stop between chunks instead, cancel ctx
// from the WithChunkDone callback.
//
// A crash or a cancelled run can be resumed without posting any record
// twice by running the same job with the same WithJournal file.
func (c *Client) PostBulk(ctx context.Context, b *Batch, opts ...BulkOption) (*BulkReport, error) {
	cfg := bulkConfig{chunkSize: MaxTasksPerBatch, concurrency: DefaultBulkConcurrency}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, fmt.Errorf("dynamo: PostBulk: %w", err)
	}
	chunks, err := planChunks(b, &cfg)
	if err != nil {
		return nil, err
	}
	run := &bulkRun{client: c, cfg: &cfg, batch: b, chunks: chunks}
	if cfg.journalPath != "" {
		job := jobFingerprint(c.tenantID, b.Template, cfg.template, cfg.chunkSize)
		j, err := openJournal(cfg.journalPath, job)
		if err != nil {
			return nil, err
		}
		defer j.close()
		if err := j.check(chunks); err != nil {
			return nil, err
		}
		run.journal, run.job = j, job
	}
	return run.run(ctx)
}

// bulkChunk is one batch of a bulk job.
type bulkChunk struct {
	index, first, end int
	batch             *Batch
	hash              string // tasksHash of batch.Tasks
}

// planChunks splits b into chunks and validates every one of them, with the
// problems' fields numbered by record in the whole job.
func planChunks(b *Batch, cfg *bulkConfig) ([]bulkChunk, error) {
	if b == nil {
		return nil, (problems{{Field: "batch", Message: "is nil"}}).err()
	}
	f := formReference
	var p problems
	if t := cfg.template; t != nil {
		f = formEmbedded
		t.validate(&p)
		if t.singleUse {
			p.add("template", "a template from TemplateFromReader can be read only once, but PostBulk sends it with every chunk: use TemplateFromFile, TemplateFromBytes, TemplateFromReaderAt or TemplateFromOpener")
		}
	}
	if len(b.Tasks) == 0 {
		p = append(p, b.validate(f)...)
		return nil, p.err()
	}
	var chunks []bulkChunk
	for first := 0; first < len(b.Tasks); first += cfg.chunkSize {
		end := min(first+cfg.chunkSize, len(b.Tasks))
		ch := bulkChunk{index: len(chunks), first: first, end: end, batch: &Batch{
			Template:    b.Template,
			Tasks:       b.Tasks[first:end:end],
			Integration: b.Integration,
			Parts:       b.Parts,
		}}
		for _, prob := range ch.batch.validate(f) {
			if field, ok := renumberTaskField(prob.Field, first); ok {
				p.add(field, prob.Message)
			} else if ch.index == 0 { // the same for every chunk: report it once
				p.add(prob.Field, prob.Message)
			}
		}
		chunks = append(chunks, ch)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	for i := range chunks {
		h, err := tasksHash(chunks[i].batch.Tasks)
		if err != nil { // validation encodes every value, so this is not expected
			return nil, fmt.Errorf("dynamo: encoding tasks: %w", err)
		}
		chunks[i].hash = h
	}
	return chunks, nil
}

// renumberTaskField turns a chunk's "tasks[i]…" field into the job's
// "tasks[offset+i]…"; ok is false for a field that is not a task's.
func renumberTaskField(field string, offset int) (string, bool) {
	rest, ok := strings.CutPrefix(field, "tasks[")
	if !ok {
		return field, false
	}
	num, tail, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return field, false
	}
	return "tasks[" + strconv.Itoa(offset+i) + "]" + tail, true
}

// bulkRun is one run of PostBulk.
type bulkRun struct {
	client  *Client
	cfg     *bulkConfig
	batch   *Batch
	chunks  []bulkChunk
	journal *journal // nil without WithJournal
	job     string   // the job's fingerprint, with a journal
	report  BulkReport
}

// posted is the outcome of one chunk's post.
type posted struct {
	index int
	resp  *BatchResponse
	err   error
}

func (r *bulkRun) run(ctx context.Context) (*BulkReport, error) {
	rep := &r.report
	rep.Chunks = make([]ChunkResult, len(r.chunks))
	for i, ch := range r.chunks {
		rep.Chunks[i] = ChunkResult{Index: i, First: ch.first, End: ch.end}
	}
	todo := r.settleFromJournal()

	// A chunk's slot is freed only once its outcome is journaled and
	// reported, so that a callback that cancels ctx stops the job before
	// another chunk starts.
	results := make(chan posted, r.cfg.concurrency)
	next, inflight := 0, 0
	var stop error // a journal write failed: start nothing more
	for {
		for stop == nil && ctx.Err() == nil && inflight < r.cfg.concurrency && next < len(todo) {
			ch := r.chunks[todo[next]]
			next++
			inflight++
			go func() {
				resp, err := r.post(ctx, ch)
				results <- posted{index: ch.index, resp: resp, err: err}
			}()
		}
		if inflight == 0 {
			break
		}
		o := <-results
		inflight--
		if err := r.finish(o); err != nil && stop == nil {
			stop = err
		}
	}

	cause := stop
	if cause == nil {
		cause = ctx.Err()
	}
	for _, i := range todo[next:] {
		rep.Chunks[i].Err = &notStartedError{cause: cause}
		rep.NotStarted++
	}
	switch {
	case stop != nil:
		return rep, stop
	case ctx.Err() != nil && rep.Err() != nil:
		return rep, fmt.Errorf("dynamo: bulk post stopped: %w", ctx.Err())
	}
	return rep, nil
}

// settleFromJournal reports the chunks that the journal says not to post
// and returns the indexes of the others, in order.
func (r *bulkRun) settleFromJournal() []int {
	todo := make([]int, 0, len(r.chunks))
	for i := range r.chunks {
		var e journalEntry
		var ok bool
		if r.journal != nil {
			e, ok = r.journal.latest[i]
		}
		res := &r.report.Chunks[i]
		switch {
		case ok && e.rec.State == journalAccepted:
			res.Skipped = true
			res.BatchID = e.rec.BatchID
			res.TaskIDs = e.rec.TaskIDs
			if n := len(e.rec.TaskIDs); n != res.End-res.First {
				res.Err = &TaskCountError{Posted: res.End - res.First, Response: &BatchResponse{ID: e.rec.BatchID, TaskIDs: e.rec.TaskIDs}}
			}
			r.report.Skipped++
		case ok && e.rec.State == journalUnknown && !r.cfg.repostUnknown:
			res.Err = &journalUnknownError{path: r.journal.path, entry: e}
			r.report.Unknown++
		default:
			todo = append(todo, i)
			continue
		}
		r.done(*res)
	}
	return todo
}

// post sends one chunk through the ordinary post path.
func (r *bulkRun) post(ctx context.Context, ch bulkChunk) (*BatchResponse, error) {
	if t := r.cfg.template; t != nil {
		return r.client.PostBatchWithTemplate(ctx, *t, ch.batch)
	}
	return r.client.PostBatch(ctx, ch.batch)
}

// finish records a chunk's outcome in the report and the journal, then
// reports it to the callback. The error is the journal's.
func (r *bulkRun) finish(o posted) error {
	rep := &r.report
	res := &rep.Chunks[o.index]
	ch := r.chunks[o.index]
	rec := journalRecord{
		Version:   journalVersion,
		Job:       r.job,
		Chunk:     ch.index,
		First:     ch.first,
		End:       ch.end,
		TasksHash: ch.hash,
		Time:      time.Now().UTC(),
	}
	res.Err = o.err
	switch {
	case o.resp != nil: // accepted, perhaps with a *TaskCountError
		res.BatchID, res.TaskIDs = o.resp.ID, o.resp.TaskIDs
		rep.Posted++
		rec.State, rec.BatchID, rec.TaskIDs = journalAccepted, o.resp.ID, o.resp.TaskIDs
	case errors.Is(o.err, ErrOutcomeUnknown):
		rep.Unknown++
		rec.State, rec.Error = journalUnknown, r.errorText(o.err)
	default:
		rep.Failed++
		rec.State, rec.Error = journalFailed, r.errorText(o.err)
	}
	var jerr error
	if r.journal != nil {
		if err := r.journal.append(rec); err != nil {
			jerr = fmt.Errorf("%w; the job was stopped, and chunk %d (records [%d, %d)) ended %s but is not recorded", err, ch.index, ch.first, ch.end, rec.State)
		}
	}
	r.done(*res)
	return jerr
}

// errorText is err's message for the journal. The SDK's errors never hold a
// credential; removing them again costs little and guards the file.
func (r *bulkRun) errorText(err error) string {
	if err == nil {
		return ""
	}
	return append(redactor{r.client.apiKey}, r.batch.secrets()...).apply(err.Error())
}

func (r *bulkRun) done(res ChunkResult) {
	if r.cfg.chunkDone != nil {
		r.cfg.chunkDone(res)
	}
}
