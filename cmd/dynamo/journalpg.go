package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/pgjournal"
)

// isPostgresJournal reports a --journal given as a PostgreSQL URL rather
// than a file.
func isPostgresJournal(journal string) bool {
	return strings.HasPrefix(journal, "postgres://") || strings.HasPrefix(journal, "postgresql://")
}

// journalJob is the name of the job in a PostgreSQL journal: --job, or the
// CSV file's name without its directory, the same on every machine that
// runs the job from its own copy of the file.
func (f *bulkFlags) journalJob() string {
	if f.job != "" {
		return f.job
	}
	return filepath.Base(f.csv)
}

// checkJournal refuses a PostgreSQL URL that holds a password, after the
// user name or as its password parameter, or the passphrase of a client
// key (sslpassword), which the tool would print in its messages (as it
// prints --journal), and --job without a PostgreSQL journal.
func (f *bulkFlags) checkJournal() error {
	if !isPostgresJournal(f.journal) {
		if f.job != "" {
			return usageErrorf("--job names a job in a PostgreSQL journal: it needs --journal postgres://…")
		}
		return nil
	}
	u, err := url.Parse(f.journal)
	if err != nil {
		return usageErrorf("--journal: not a PostgreSQL URL (postgres://user@host/database?sslmode=…)")
	}
	if _, ok := u.User.Password(); ok || u.Query().Has("password") {
		return usageErrorf("--journal: the URL holds a password, which this tool would print: give it in PGPASSWORD or a password file (~/.pgpass) instead")
	}
	if u.Query().Has("sslpassword") {
		return usageErrorf("--journal: the URL holds the passphrase of a client key (sslpassword), which this tool would print: give it in PGSSLPASSWORD instead")
	}
	return nil
}

// journalOption returns the option of --journal, a file or a PostgreSQL
// URL, and what closes the journal's connections (nil for a file).
func (f *bulkFlags) journalOption() (dynamo.BulkOption, func(), error) {
	if isPostgresJournal(f.journal) {
		return postgresJournal(f)
	}
	return dynamo.WithJournal(f.journal), nil, nil
}

// postgresJournal returns the option of a PostgreSQL journal, and what
// closes its connections. Nothing is sent before PostBulk opens it.
func postgresJournal(f *bulkFlags) (dynamo.BulkOption, func(), error) {
	cfg, err := pgxpool.ParseConfig(f.journal)
	if err != nil {
		// pgx's error quotes the URL, which holds no password (checkJournal).
		return nil, nil, usageErrorf("--journal: %v", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--journal: %w", err)
	}
	store, err := pgjournal.New(pool, f.journalJob())
	if err != nil {
		pool.Close()
		return nil, nil, usageErr(err)
	}
	return dynamo.WithJournalStore(store), pool.Close, nil
}

// journalHolder says who holds a journal that refused a run, when the store
// can say.
func journalHolder(err error) string {
	var inUse *pgjournal.InUseError
	if errors.As(err, &inUse) && inUse.Host != "" {
		return fmt.Sprintf("process %d on host %s holds job %q", inUse.PID, inUse.Host, inUse.Job)
	}
	return "it holds the journal's lock"
}
