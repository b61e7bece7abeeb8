package dynamo

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// defaultBulkConcurrency is how many chunks PostBulk posts at once unless
// WithBulkConcurrency says otherwise.
const defaultBulkConcurrency = 2

// ErrBulkStopped matches PostBulk's error when the channel given to WithStop
// stopped the job before every chunk was posted.
var ErrBulkStopped = errors.New("dynamo: bulk post stopped before every chunk was posted")

// BulkOption configures PostBulk. An option given an invalid value makes
// PostBulk fail before anything is posted, with an error that names the
// option; a nil BulkOption is skipped.
type BulkOption func(*bulkConfig) error

type bulkConfig struct {
	chunkSize     int
	concurrency   int
	template      *Template // embedded in every chunk; nil to post by reference
	journal       JournalStore
	repostUnknown bool
	chunkDone     func(ChunkResult)
	stop          <-chan struct{}
}

// WithChunkSize sets how many records go into each batch, from 1 to
// MaxTasksPerBatch (the default). It also fixes every chunk's record range,
// so a job resumed from its journal must use the same size.
func WithChunkSize(n int) BulkOption {
	return func(c *bulkConfig) error {
		if n < 1 || n > MaxTasksPerBatch {
			return fmt.Errorf("WithChunkSize: %d is not between 1 and %d", n, MaxTasksPerBatch)
		}
		c.chunkSize = n
		return nil
	}
}

// WithBulkConcurrency sets how many chunks are posted at once (default 2);
// n must be at least 1.
func WithBulkConcurrency(n int) BulkOption {
	return func(c *bulkConfig) error {
		if n < 1 {
			return fmt.Errorf("WithBulkConcurrency: %d is less than 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithBulkTemplate embeds t in every chunk's post, as PostBatchWithTemplate
// does, instead of referring to b.Template, which must then be empty. t is
// opened once per chunk and attempt, possibly by several chunks at once, so
// it must be re-openable: a template from TemplateFromReader is refused.
func WithBulkTemplate(t Template) BulkOption {
	return func(c *bulkConfig) error {
		c.template = &t
		return nil
	}
}

// WithJournal makes PostBulk write ahead to the file at path what it is
// about to do and what came of it, and resume from it, so that no record is
// posted twice across a crash, a kill, a signal, a full disk or a second run
// started at the same time. It is WithJournalStore(FileJournal(path)).
//
// "The bulk journal" in the package documentation says what the journal
// promises, how a run resumes from it, and its file format.
func WithJournal(path string) BulkOption {
	return func(c *bulkConfig) error {
		if path == "" {
			return errors.New("WithJournal: empty path")
		}
		c.journal = FileJournal(path)
		return nil
	}
}

// WithJournalStore makes PostBulk write ahead to the journal in s, as
// WithJournal does to a file: a store that several machines share lets any
// of them resume the job (see JournalStore).
func WithJournalStore(s JournalStore) BulkOption {
	return func(c *bulkConfig) error {
		if s == nil {
			return errors.New("WithJournalStore: nil store")
		}
		c.journal = s
		return nil
	}
}

// WithRepostUnknown posts again the chunks that the journal records with an
// unknown outcome. Use it only once you know that their batches were not
// created: otherwise their records are processed, and licensed, twice.
func WithRepostUnknown() BulkOption {
	return func(c *bulkConfig) error {
		c.repostUnknown = true
		return nil
	}
}

// WithChunkDone calls fn once for every chunk that is posted, fails, or is
// left alone because of the journal, as soon as its outcome is known (and
// recorded in the journal). Calls are never concurrent; they are made on the
// goroutine that called PostBulk, so fn may cancel PostBulk's context or
// close the WithStop channel: no chunk starts after that. While fn runs, no
// new chunk starts.
func WithChunkDone(fn func(ChunkResult)) BulkOption {
	return func(c *bulkConfig) error {
		if fn == nil {
			return errors.New("WithChunkDone: nil function")
		}
		c.chunkDone = fn
		return nil
	}
}

// WithStop gives PostBulk a graceful stop: once stop is closed, no further
// chunk starts, while the posts already in flight go on until their outcome
// is known (PostBulk's context still bounds them) and is recorded. PostBulk
// then returns the report, the chunks it did not start reported as
// ChunkNotStarted, and an error matching ErrBulkStopped (nil if every chunk
// was accepted anyway).
//
// Cancelling PostBulk's context instead aborts the posts in flight: each of
// them whose request was sent ends ChunkUnknown. A program that stops on a
// signal closes stop on the first one, and cancels the context on a second
// one or after a grace period.
func WithStop(stop <-chan struct{}) BulkOption {
	return func(c *bulkConfig) error {
		if stop == nil {
			return errors.New("WithStop: nil channel")
		}
		c.stop = stop
		return nil
	}
}

// ChunkState is what became of a chunk of a bulk post.
type ChunkState int

// The states of a chunk.
const (
	// ChunkNotStarted: not posted, because the job stopped first.
	ChunkNotStarted ChunkState = iota
	// ChunkAccepted: posted by this run and accepted; BatchID is set.
	ChunkAccepted
	// ChunkSkipped: accepted by an earlier run, per the journal; not posted
	// again, BatchID comes from the journal.
	ChunkSkipped
	// ChunkFailed: the post failed in a way that created nothing; posting it
	// again is safe.
	ChunkFailed
	// ChunkUnknown: the batch may or may not exist: posted by this run
	// without an answer, or so recorded by the journal.
	ChunkUnknown
)

var chunkStateNames = [...]string{"not-started", "accepted", "skipped", "failed", "unknown"}

// String returns the state's name: "not-started", "accepted", "skipped",
// "failed" or "unknown".
func (s ChunkState) String() string {
	if s >= 0 && int(s) < len(chunkStateNames) {
		return chunkStateNames[s]
	}
	return "ChunkState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its name.
func (s ChunkState) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(chunkStateNames) {
		return nil, fmt.Errorf("dynamo: invalid ChunkState %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state's name.
func (s *ChunkState) UnmarshalText(text []byte) error {
	for i, name := range chunkStateNames {
		if string(text) == name {
			*s = ChunkState(i)
			return nil
		}
	}
	return fmt.Errorf("dynamo: unknown chunk state %q", text)
}

// ChunkResult is the outcome of one chunk of a bulk post.
type ChunkResult struct {
	// Index is the chunk's position in the job, from 0.
	Index int
	// First and End delimit the chunk's records: b.Tasks[First:End].
	First, End int
	// State is what became of the chunk.
	State ChunkState
	// BatchID and TaskIDs are the accepted batch's IDs, one task ID per
	// record, in record order; empty unless State is ChunkAccepted or
	// ChunkSkipped.
	BatchID string
	TaskIDs []string
	// PostedAt is when the chunk's post started, by this run or (per the
	// journal) an earlier one; zero when it was not posted.
	PostedAt time.Time
	// FromJournal reports a chunk that this run left alone because of what
	// its journal records: accepted (ChunkSkipped) or of unknown outcome
	// (ChunkUnknown) by an earlier run.
	FromJournal bool
	// Err is nil when the chunk was accepted. It matches ErrOutcomeUnknown
	// for ChunkUnknown, is a *BatchTaskCountError (with BatchID set) when the
	// batch was accepted with an unexpected number of task IDs, and says why
	// the job stopped for ChunkNotStarted.
	Err error
}

// BulkReport is what PostBulk did, chunk by chunk.
type BulkReport struct {
	// Chunks holds every chunk of the job, in index order, including those
	// not started because the job stopped.
	Chunks []ChunkResult
}

// Count returns how many chunks are in state s.
func (r *BulkReport) Count(s ChunkState) int {
	n := 0
	for _, ch := range r.Chunks {
		if ch.State == s {
			n++
		}
	}
	return n
}

// Err returns nil when every chunk was accepted (by this run or, per the
// journal, an earlier one) with the expected task IDs. Otherwise it joins
// the chunks' errors, each prefixed by its record range, like "records
// [2000, 2500): …"; consecutive chunks that were not started are reported
// together.
func (r *BulkReport) Err() error {
	var errs []error
	for i := 0; i < len(r.Chunks); i++ {
		ch := r.Chunks[i]
		if ch.State != ChunkNotStarted {
			if ch.Err != nil {
				errs = append(errs, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
			}
			continue
		}
		j := i
		for j+1 < len(r.Chunks) && r.Chunks[j+1].State == ChunkNotStarted {
			j++
		}
		if j == i {
			errs = append(errs, fmt.Errorf("records [%d, %d): %w", ch.First, ch.End, ch.Err))
		} else {
			errs = append(errs, fmt.Errorf("records [%d, %d) (%d chunks): %w", ch.First, r.Chunks[j].End, j-i+1, ch.Err))
		}
		i = j
	}
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
	return "dynamo: not posted, the job stopped first: " + strings.TrimPrefix(e.cause.Error(), "dynamo: ")
}

func (e *notStartedError) Unwrap() error { return e.cause }

// PostBulk posts any number of tasks as consecutive batches ("chunks") of
// at most MaxTasksPerBatch tasks (or the WithChunkSize value) each. Every
// chunk has b's Template, Integration and Parts, and follows the validation,
// retry and outcome rules of PostBatch (or of PostBatchWithTemplate with
// WithBulkTemplate). Up to 2 chunks (or the
// WithBulkConcurrency value) are in flight at once, started in index order.
//
// Every chunk is validated, its values found encodable, before any is
// posted (each is then encoded as it is posted): an invalid
// job fails with a *ValidationError whose fields number records across the
// whole job, like "tasks[2503].params.id", and nothing is sent.
//
// A chunk that fails does not stop the others: the report says what became
// of each chunk (see ChunkResult.State and BulkReport.Err). PostBulk's own
// error is for what stops the whole job: invalid options or input, a journal
// that cannot be read, is in use, cannot be written or belongs to another
// job (see WithJournal), the WithStop channel, or ctx being done. When ctx
// ends the job, no other chunk starts, posts in flight end with ctx (one
// whose request was already sent has an unknown outcome), and the report so
// far is returned along with an error matching ctx's. To stop without
// cutting off the posts in flight, use WithStop.
//
// With WithJournal, a job stopped by a crash, a kill or a signal can be run
// again with the same journal without posting any record twice.
func (c *Client) PostBulk(ctx context.Context, b *Batch, opts ...BulkOption) (*BulkReport, error) {
	cfg := bulkConfig{chunkSize: MaxTasksPerBatch, concurrency: defaultBulkConcurrency}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("dynamo: PostBulk: %w", err)
		}
	}
	if b != nil {
		if err := c.orgProblems(b.Integration).err(); err != nil {
			return nil, err
		}
	}
	job, err := planJob(b, &cfg)
	if err != nil {
		return nil, err
	}
	run := &bulkRun{client: c, cfg: &cfg, job: job}
	if cfg.journal != nil {
		fp := jobFingerprint(c.tenantID, b.Template, cfg.template, cfg.chunkSize)
		j, err := openJournal(ctx, cfg.journal, fp)
		if err != nil {
			return nil, err
		}
		defer j.close()
		for i := range job.chunks {
			ch := &job.chunks[i]
			hash := func() (string, error) { return ch.hash, ch.encode(true) }
			if err := j.verify(i, ch.first, ch.end, hash); err != nil {
				return nil, err
			}
		}
		if err := j.verifyCount(len(job.chunks)); err != nil {
			return nil, err
		}
		run.journal = j
	}
	return run.run(ctx)
}

// bulkJob is a planned bulk post: its chunks, validated.
type bulkJob struct {
	batch  *Batch
	chunks []bulkChunk
	parts  []formdata.Part // the encoded extra parts, with an embedded template
}

// bulkChunk is one batch of a bulk job.
type bulkChunk struct {
	index, first, end int
	batch             *Batch
	firstID, lastID   string // the first and last record IDs
	// tasks is the tasks' JSON, once encoded, and hash its SHA-256: a chunk
	// is encoded when it is posted, or when its journal line is checked.
	tasks []byte
	hash  string
}

// encode encodes the chunk's tasks, once; the hash is taken when withHash
// is set (a job with a journal).
func (ch *bulkChunk) encode(withHash bool) error {
	if ch.tasks == nil {
		tasks, err := encodeTasks(ch.batch.Tasks, ch.first)
		if err != nil {
			return err
		}
		ch.tasks = tasks
	}
	if withHash && ch.hash == "" {
		ch.hash = sha256Hex(ch.tasks)
	}
	return nil
}

// check validates the chunk for form f, numbering the fields of its tasks'
// problems by record in the whole job; the problems that are not a task's
// are the same for every chunk, and reported for the first only. It notes
// the chunk's first and last record IDs.
func (ch *bulkChunk) check(f form) problems {
	var p problems
	for _, prob := range ch.batch.validate(f) {
		if field, ok := renumberTaskField(prob.Field, ch.first); ok {
			prob.Field = field
			p = append(p, prob)
		} else if ch.index == 0 {
			p = append(p, prob)
		}
	}
	for i, t := range ch.batch.Tasks {
		if !paramsEncodable(t.Params) {
			paramsEncodingProblems(fmt.Sprintf("tasks[%d].params", ch.first+i), t.Params, &p)
		}
	}
	ch.firstID, _ = ch.batch.Tasks[0].Params["id"].(string)
	ch.lastID, _ = ch.batch.Tasks[len(ch.batch.Tasks)-1].Params["id"].(string)
	return p
}

// planJob splits b into chunks and validates every one of them, with the
// problems' fields numbered by record in the whole job. A chunk is encoded
// only when it is posted, as a hand-written loop would encode it, so that
// encoding overlaps with the posts in flight; whether its values encode is
// checked here, for every chunk, so that an invalid job sends nothing.
func planJob(b *Batch, cfg *bulkConfig) (*bulkJob, error) {
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
	job := &bulkJob{batch: b}
	for first := 0; first < len(b.Tasks); first += cfg.chunkSize {
		end := min(first+cfg.chunkSize, len(b.Tasks))
		job.chunks = append(job.chunks, bulkChunk{index: len(job.chunks), first: first, end: end, batch: &Batch{
			Template:    b.Template,
			Tasks:       b.Tasks[first:end:end],
			Integration: b.Integration,
			Parts:       b.Parts,
		}})
	}
	// Nothing is posted before every chunk is valid: the chunks are checked
	// on every core, so that a large job's first post waits little.
	found := make([]problems, len(job.chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(job.chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(job.chunks); i = int(next.Add(1) - 1) {
				found[i] = job.chunks[i].check(f)
			}
		}()
	}
	wg.Wait()
	for _, chunkProblems := range found {
		p = append(p, chunkProblems...)
	}
	var partsErr error
	if f == formEmbedded {
		job.parts, partsErr = encodeParts(b.Parts)
	}
	if err := joinProblems(p.err(), partsErr); err != nil {
		return nil, err
	}
	return job, nil
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
	job     *bulkJob
	journal *journal // nil without WithJournal
	report  BulkReport
	// unrecorded lists the chunks posted by this run whose outcome the
	// journal does not hold.
	unrecorded []int
}

// posted is the outcome of one chunk's post.
type posted struct {
	ch       bulkChunk // encoded, with its hash when there is a journal
	postedAt time.Time
	resp     *BatchResponse
	err      error
	// notSent is why the chunk was not sent at all: its posting line could
	// not be written.
	notSent error
}

func (r *bulkRun) run(ctx context.Context) (*BulkReport, error) {
	chunks := r.job.chunks
	rep := &r.report
	rep.Chunks = make([]ChunkResult, len(chunks))
	for i, ch := range chunks {
		rep.Chunks[i] = ChunkResult{Index: i, First: ch.first, End: ch.end}
	}
	todo := r.settleFromJournal()

	// A chunk's slot is freed only once its outcome is journaled and
	// reported, so that a callback that cancels ctx or closes the stop
	// channel stops the job before another chunk starts.
	results := make(chan posted, r.cfg.concurrency)
	next, inflight := 0, 0
	var stop error // why no further chunk starts
	for {
		for stop == nil && inflight < r.cfg.concurrency && next < len(todo) {
			if stop = r.stopCause(ctx); stop != nil {
				break
			}
			ch := chunks[todo[next]]
			next++
			inflight++
			go func() { results <- r.send(ctx, ch) }()
		}
		if inflight == 0 {
			break
		}
		o := <-results
		inflight--
		if err := r.finish(ctx, o); err != nil && stop == nil {
			stop = err
		}
	}

	if stop == nil {
		stop = r.stopCause(ctx)
	}
	for i := range rep.Chunks { // those after the stop, and any whose posting line failed
		if rep.Chunks[i].State == ChunkNotStarted && rep.Chunks[i].Err == nil {
			rep.Chunks[i].Err = &notStartedError{cause: stop}
		}
	}
	if r.journal != nil && r.journal.failure != nil {
		return rep, r.journalWriteError()
	}
	if next < len(todo) || (stop != nil && rep.Err() != nil) {
		if errors.Is(stop, ErrBulkStopped) {
			return rep, stop
		}
		return rep, fmt.Errorf("dynamo: bulk post stopped: %w", stop)
	}
	return rep, nil
}

// stopCause says why no further chunk may start, or nil.
func (r *bulkRun) stopCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-r.cfg.stop: // a nil channel never receives
		return ErrBulkStopped
	default:
		return nil
	}
}

// send encodes ch, records in the journal that it is about to be posted,
// and posts it. It runs on a goroutine of its own, one per chunk in flight.
func (r *bulkRun) send(ctx context.Context, ch bulkChunk) posted {
	o := posted{ch: ch}
	if err := o.ch.encode(r.journal != nil); err != nil { // not expected: planJob checked every value
		o.err = err
		return o
	}
	o.postedAt = r.client.now().UTC()
	if r.journal != nil {
		rec := r.record(o.ch, journalPosting)
		rec.Time = o.postedAt
		if err := r.journal.appendIntent(ctx, rec); err != nil {
			o.notSent = err
			return o
		}
	}
	if t := r.cfg.template; t != nil {
		o.resp, o.err = r.client.postEmbedded(ctx, *t, o.ch.batch, o.ch.tasks, r.job.parts)
	} else {
		o.resp, o.err = r.client.postReference(ctx, o.ch.batch, o.ch.tasks)
	}
	return o
}

// record is a journal line about ch, without its state's details.
func (r *bulkRun) record(ch bulkChunk, state string) journalRecord {
	return journalRecord{
		Version:   journalVersion,
		Job:       r.journal.job,
		Chunk:     ch.index,
		First:     ch.first,
		End:       ch.end,
		TasksHash: ch.hash,
		FirstID:   ch.firstID,
		LastID:    ch.lastID,
		State:     state,
		Time:      r.client.now().UTC(),
	}
}

// settleFromJournal reports the chunks that the journal says not to post
// and returns the indexes of the others, in order.
func (r *bulkRun) settleFromJournal() []int {
	todo := make([]int, 0, len(r.job.chunks))
	for i := range r.job.chunks {
		var e journalEntry
		var ok bool
		if r.journal != nil {
			e, ok = r.journal.latest[i]
		}
		res := &r.report.Chunks[i]
		switch {
		case ok && e.rec.State == journalAccepted:
			res.State = ChunkSkipped
			res.BatchID = e.rec.BatchID
			res.PostedAt = e.postedAt
			if e.rec.TaskIDs != nil {
				res.Err = &BatchTaskCountError{Posted: res.End - res.First, Response: &BatchResponse{ID: e.rec.BatchID, TaskIDs: e.rec.TaskIDs}}
			}
		case ok && e.uncertain() && !r.cfg.repostUnknown:
			res.State = ChunkUnknown
			res.PostedAt = e.postedAt
			res.Err = &journalUnknownError{name: r.journal.name, entry: e}
		default:
			todo = append(todo, i)
			continue
		}
		res.FromJournal = true
		r.done(*res)
	}
	return todo
}

// finish records a chunk's outcome in the report and the journal, then
// reports it to the callback. The error is the journal's.
func (r *bulkRun) finish(ctx context.Context, o posted) error {
	if o.notSent != nil {
		return o.notSent // the chunk stays not started
	}
	res := &r.report.Chunks[o.ch.index]
	res.Err = o.err
	res.PostedAt = o.postedAt
	var state string
	switch {
	case o.resp != nil: // accepted, perhaps with a *BatchTaskCountError
		res.State, state = ChunkAccepted, journalAccepted
		res.BatchID, res.TaskIDs = o.resp.ID, o.resp.TaskIDs
	case outcomeOf(o.err) == verdictUnknown:
		res.State, state = ChunkUnknown, journalUnknown
	default:
		res.State, state = ChunkFailed, journalFailed
	}
	var jerr error
	if r.journal != nil {
		rec := r.record(o.ch, state)
		rec.BatchID, rec.TaskIDs = res.BatchID, res.TaskIDs
		if state != journalAccepted {
			rec.Error = r.errorText(o.err)
		}
		if jerr = r.journal.append(ctx, rec); jerr != nil {
			r.unrecorded = append(r.unrecorded, o.ch.index)
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
	return append(redactor{r.client.apiKey}, r.job.batch.secrets()...).apply(err.Error())
}

func (r *bulkRun) done(res ChunkResult) {
	if r.cfg.chunkDone != nil {
		r.cfg.chunkDone(res)
	}
}

// journalWriteError lists the chunks whose outcome the journal missed.
func (r *bulkRun) journalWriteError() error {
	e := &JournalWriteError{Path: r.journal.name, Err: r.journal.failure}
	for _, i := range r.unrecorded {
		e.Unrecorded = append(e.Unrecorded, r.report.Chunks[i])
	}
	return e
}
