package main

import (
	"context"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynamokit/dynamo"
)

// defaultGrace is how long, by default, dynamo bulk waits after an interrupt
// for the posts in flight to finish.
const defaultGrace = 30 * time.Second

// defaultConcurrency is how many chunks dynamo bulk posts at once, as
// PostBulk does by default.
const defaultConcurrency = 2

type bulkFlags struct {
	templateFlags
	csv           string
	dups          bool // --allow-duplicates
	parts         []string
	params        []string
	journal       string
	job           string // --job: the job's name in a PostgreSQL journal
	repostUnknown bool
	chunkSize     int
	concurrency   int
	grace         time.Duration
	noWait        bool
}

const bulkLong = `Post every record of a CSV file (an id column; other columns become params) as
consecutive batches ("chunks") of up to --chunk-size records, then wait for
every batch and print a summary. The whole file is checked before anything is
posted: a record identical to an earlier one (the same id and params) refuses
it unless --allow-duplicates is given; an id repeated with other params is
posted, with a warning on stderr. The file is read as a stream, twice (once
to check it, once to post it), so its size does not matter; the check for
repeats holds 16 bytes a record, and --allow-duplicates, which skips it
(repeated ids are then not reported either), none.

With --journal FILE each chunk is recorded before it is posted and again once
its outcome is known, and a run with the same journal, template, chunk size
and records skips the chunks already accepted: re-run after a crash, an
interruption or a failed chunk to post only what is missing. Only one run
uses a journal at a time. A chunk whose post got no answer may or may not
have created its batch: the summary says which records it holds and when it
was posted, so that its batch can be looked for in the Dynamo console. It is
not posted again unless --repost-unknown is given.

--journal postgres://user@host/database?sslmode=… keeps the journal in
PostgreSQL instead, so that a job stopped on one machine can be finished from
any other pointed at the same database; the job is named by --job, or by the
CSV file's name. The password comes from PGPASSWORD or a password file, never
from the URL; the other PG* variables apply as for psql.

An interrupt (Ctrl-C, or SIGTERM) stops gracefully: no new chunk starts, the
posts in flight finish so that their outcome is known, for up to --grace, and
batches are no longer waited for. A second interrupt, or the end of the grace
period, aborts the posts in flight: their chunks are of unknown outcome.

Batches that the journal records from an earlier run are followed too. With
--fake and no running 'dynamo fake' each run starts a new fake server that
does not know them, so they are reported as not followed instead.

A Salesforce session is taken from the source the environment or --sf-org
names (see 'dynamo auth --help'), and each chunk asks it for one as it is
posted, so that a long job posts with fresh sessions.

Exit code 1 when a chunk could not be posted, the job was interrupted or a
batch could not be followed, 3 when every batch completed but some tasks had
errors.`

func (a *app) bulkCommand() *cobra.Command {
	var f bulkFlags
	c := &cobra.Command{
		Use:   "bulk (--template ID | --dap FILE) --csv FILE [flags]",
		Short: "Post any number of records as consecutive batches, then wait for them",
		Long:  bulkLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE:  runE(func(ctx context.Context, _ []string) error { return a.bulk(ctx, &f) }),
	}
	fs := c.Flags()
	f.register(fs)
	fs.StringVar(&f.csv, "csv", "", "the CSV `file` of records: an id column, other columns become params")
	fs.BoolVar(&f.dups, "allow-duplicates", false, "post a record identical to an earlier one (same id and params) instead of refusing the file; no record is checked for repeats")
	fs.StringArrayVar(&f.parts, "part", nil, "an extra JSON part `name=file.json`, given to every task as the param name (repeatable; needs --dap)")
	fs.StringArrayVar(&f.params, "param", nil, "a param `key=value` for every task (repeatable)")
	fs.StringVar(&f.journal, "journal", "", "record each chunk in this `file` (or PostgreSQL database, postgres://user@host/db) before and after posting it, and skip the chunks it records as accepted")
	fs.StringVar(&f.job, "job", "", "the job's `name` in a PostgreSQL journal (default: the CSV file's name)")
	fs.BoolVar(&f.repostUnknown, "repost-unknown", false, "post again the chunks the journal records with an unknown outcome (only once you know their batches were not created)")
	fs.IntVar(&f.chunkSize, "chunk-size", dynamo.MaxTasksPerBatch, "records per batch, 1 to 1000 (a journal's job keeps its size)")
	fs.IntVar(&f.concurrency, "concurrency", defaultConcurrency, "how many chunks are posted at once")
	fs.DurationVar(&f.grace, "grace", defaultGrace, "after an interrupt, how long to wait for the posts in flight before aborting them")
	fs.BoolVar(&f.noWait, "no-wait", false, "post only; do not wait for the batches")
	return c
}

func (a *app) bulk(ctx context.Context, f *bulkFlags) error {
	plan, err := a.planBulk(ctx, f)
	if err != nil {
		return err
	}
	if plan.closeJournal != nil {
		defer plan.closeJournal()
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	r := a.newBulkRun(ctx, client, plan)
	defer r.close()
	rep, postErr := r.post()
	return r.conclude(rep, postErr)
}

// bulkPlan is a bulk job ready to post: the batch that gives every chunk
// its template, integration and parts, the CSV file as the source of its
// tasks, and PostBulkFrom's options but those of the run (the stop channel
// and the callback).
type bulkPlan struct {
	flags *bulkFlags
	batch *dynamo.Batch
	src   *csvSource
	opts  []dynamo.BulkOption
	// closeJournal closes a PostgreSQL journal's connections; nil otherwise.
	closeJournal func()
}

// chunks is how many chunks the job has, once the source's first read has
// counted its records; 0 before.
func (p *bulkPlan) chunks() int {
	return (p.src.count() + p.flags.chunkSize - 1) / p.flags.chunkSize
}

// bulkHeap is the heap a bulk job needs besides its check for repeats:
// the chunks in flight and the one being read, the reader's, the
// encoder's and the transport's buffers, the report.
const bulkHeap = 40 << 20

// limitHeap bounds the Go heap to bulkHeap and extra bytes, unless
// GOMEMLIMIT bounds it already. By default the collector lets the heap grow
// to twice its live data before collecting: with the hashes of 10 million
// records live (160 MB), 160 MB of garbage more. Within the bound it
// collects sooner instead; the hashes hold no pointers, so that a
// collection costs little more for them. A job whose live data outgrows the
// bound is slowed by collections, not stopped.
func limitHeap(extra int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(bulkHeap + extra)
	}
}

// check refuses flags that do not go together, before any file is read.
func (f *bulkFlags) check() error {
	if err := f.templateFlags.check(); err != nil {
		return err
	}
	switch {
	case f.csv == "":
		return usageErrorf("bulk: --csv FILE is required")
	case f.chunkSize < 1 || f.chunkSize > dynamo.MaxTasksPerBatch:
		return usageErrorf("--chunk-size %d: must be between 1 and %d", f.chunkSize, dynamo.MaxTasksPerBatch)
	case f.concurrency < 1:
		return usageErrorf("--concurrency %d: must be at least 1", f.concurrency)
	case f.grace < 0:
		return usageErrorf("--grace %s: must not be negative", f.grace)
	case f.repostUnknown && f.journal == "":
		return usageErrorf("--repost-unknown needs --journal: it reposts the chunks a journal records as unknown")
	}
	return f.checkJournal()
}

// planBulk turns the flags into a plan, checking everything that can be
// checked before the records are read: the records themselves are read,
// and checked, by the job's first pass over the file.
func (a *app) planBulk(ctx context.Context, f *bulkFlags) (*bulkPlan, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	x, err := parseExtras(&f.templateFlags, f.params, f.parts, false)
	if err != nil {
		return nil, err
	}
	// The header is read now, so that a missing file or a column that a
	// flag would overwrite is found before anything else happens.
	c, err := openCSV(f.csv)
	if err != nil {
		return nil, usageErr(err)
	}
	err = checkColumns(c, x.params, x.parts)
	c.Close()
	if err != nil {
		return nil, usageErr(err)
	}
	src := &csvSource{path: f.csv, base: x.params, parts: x.parts, chunkSize: f.chunkSize}
	if !f.dups {
		src.dups = newDuplicateCheck(a.stderr)
	}
	if a.ownsRuntime {
		limitHeap(0)
		if src.dups != nil {
			src.dups.reserve = limitHeap
		}
	}
	plan := &bulkPlan{flags: f, batch: &dynamo.Batch{Template: f.template}, src: src}
	plan.opts = []dynamo.BulkOption{
		dynamo.WithChunkSize(f.chunkSize),
		dynamo.WithBulkConcurrency(f.concurrency),
	}
	if f.dap != "" {
		tmpl, err := f.open()
		if err != nil {
			return nil, err
		}
		if plan.batch.Parts, err = streamParts(x.parts); err != nil {
			return nil, err
		}
		plan.opts = append(plan.opts, dynamo.WithBulkTemplate(tmpl))
	}
	if f.journal != "" {
		opt, closeJournal, err := f.journalOption()
		if err != nil {
			return nil, err
		}
		plan.opts, plan.closeJournal = append(plan.opts, opt), closeJournal
	}
	if f.repostUnknown {
		plan.opts = append(plan.opts, dynamo.WithRepostUnknown())
	}
	// The session last: everything else is checked before the network.
	if plan.batch.Integration, err = a.integration(ctx); err != nil {
		return nil, err
	}
	return plan, nil
}
