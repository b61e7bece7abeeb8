package pgjournal

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo"
)

// Store is the journal of one bulk job in a PostgreSQL database: a
// dynamo.JournalStore. It is safe for concurrent use; each Open takes a
// connection of the pool for itself (see Open).
type Store struct {
	pool        *pgxpool.Pool
	job         string
	schema      string
	tables      tables
	lockKey     int64
	schemaReady atomic.Bool
}

// Option configures a Store in New. An option given a value it cannot use
// makes New fail with an error that names it; a nil Option is skipped.
type Option func(*Store) error

// WithSchema names the schema of the journal's tables, "dynamo" when not
// given. The schema is created on first use if it does not exist.
func WithSchema(name string) Option {
	return func(s *Store) error {
		if name == "" || !utf8.ValidString(name) || len(name) > 63 {
			return fmt.Errorf("pgjournal: WithSchema: %q is not a schema name (1 to 63 bytes of UTF-8)", name)
		}
		s.schema = name
		return nil
	}
}

// New returns the store of job's journal in the database of pool. job
// names the job across runs and machines: a run that opens the same job
// in the same schema resumes it. It is any non-empty UTF-8 text without NUL
// (a name such as "month-end-2026-01"); the records, template and chunk
// size are checked by PostBulk against what the journal holds, as with a
// journal file.
//
// New does nothing over the network: the tables are created, if need be,
// by the first Open. It fails when pool is nil, job is not such a name,
// or an option is invalid.
func New(pool *pgxpool.Pool, job string, opts ...Option) (*Store, error) {
	switch {
	case pool == nil:
		return nil, errors.New("pgjournal: New: nil pool")
	case job == "" || !utf8.ValidString(job) || containsNUL(job):
		return nil, fmt.Errorf("pgjournal: New: %q is not a job name (non-empty UTF-8 without NUL)", job)
	}
	s := &Store{pool: pool, job: job, schema: "dynamo"}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.tables = tablesIn(s.schema)
	s.lockKey = lockKey(s.schema, job)
	return s, nil
}

func containsNUL(s string) bool {
	for i := range len(s) {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// lockKey is the advisory lock of a name: the first 8 bytes of a SHA-256
// of it, so that a collision between two jobs is as unlikely as any.
func lockKey(schema, job string) int64 {
	sum := sha256.Sum256([]byte("dynamo pgjournal\x00" + schema + "\x00" + job))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Job returns the job's name.
func (s *Store) Job() string { return s.job }

// String names the job and its schema, as PostBulk's errors name the
// journal; it holds nothing of the connection.
func (s *Store) String() string {
	return fmt.Sprintf("%q in PostgreSQL schema %s", s.job, s.tables.schema)
}

// Open takes the job for this run and returns its journal, creating the
// tables and the job's row if need be. The journal keeps a connection of
// the pool for itself until Close (the connection that holds the lock
// cannot go back to the pool while held, so it is taken out of it; the pool
// opens another when it needs one).
//
// When another run holds the job, Open fails at once with an *InUseError,
// which matches dynamo.ErrJournalInUse.
func (s *Store) Open(ctx context.Context) (dynamo.Journal, error) {
	if err := s.ensureSchema(ctx); err != nil {
		return nil, err
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.errorf("connecting: %w", err)
	}
	conn := pc.Hijack()
	j, err := s.take(ctx, conn)
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
		return nil, err
	}
	return j, nil
}

// closeTimeout bounds what closing a connection waits for.
const closeTimeout = 5 * time.Second

// take locks the job on conn and starts the run's epoch.
func (s *Store) take(ctx context.Context, conn *pgx.Conn) (*journal, error) {
	// The store's appends are durable when they return, whatever the
	// server's or the role's default.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		return nil, s.errorf("setting synchronous_commit: %w", err)
	}
	// The connection says whose it is before it takes the lock, so that a
	// run refused at any moment after can name the holder.
	host, _ := os.Hostname()
	if _, err := conn.Exec(ctx, "SELECT set_config('application_name', $1, false)", holderName(os.Getpid(), host)); err != nil {
		return nil, s.errorf("naming the connection: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.lockKey).Scan(&locked); err != nil {
		return nil, s.errorf("locking: %w", err)
	}
	if !locked {
		return nil, s.inUse(ctx, conn)
	}
	var epoch int64
	err := conn.QueryRow(ctx, `INSERT INTO `+s.tables.jobs+` AS j (job, epoch, holder_host, holder_pid, held_since)
		VALUES ($1, 1, $2, $3, now())
		ON CONFLICT (job) DO UPDATE SET epoch = j.epoch + 1, holder_host = $2, holder_pid = $3, held_since = now()
		RETURNING epoch`, s.job, host, os.Getpid()).Scan(&epoch)
	if err != nil {
		return nil, s.errorf("starting the run: %w", err)
	}
	return &journal{store: s, conn: conn, epoch: epoch}, nil
}

// inUse reads who holds the job, for the error that refuses this run: the
// name of the connection that holds the lock, and when its run opened the
// job (or, where the server does not show other roles' connections, the
// host and process that opened it last).
func (s *Store) inUse(ctx context.Context, conn *pgx.Conn) error {
	e := &InUseError{Job: s.job}
	var appName *string
	err := conn.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid::bigint = $1 AND l.objid::bigint = $2`,
		int64(uint64(s.lockKey)>>32), int64(uint64(s.lockKey)&0xffffffff)).Scan(&appName)
	if err == nil && appName != nil {
		e.PID, e.Host, _ = parseHolderName(*appName)
	}
	var host string
	var pid int
	var since time.Time
	err = conn.QueryRow(ctx, "SELECT holder_host, holder_pid, held_since FROM "+s.tables.jobs+" WHERE job = $1", s.job).
		Scan(&host, &pid, &since)
	if err == nil && (e.Host == "" || host == e.Host && pid == e.PID) {
		e.Host, e.PID, e.Since = host, pid, since
	}
	return e
}

// holderName is the application_name of the connection that holds a job.
func holderName(pid int, host string) string {
	name := fmt.Sprintf("dynamo journal pid %d host %s", pid, host)
	if len(name) > 63 { // the server keeps 63 bytes
		name = name[:63]
	}
	return name
}

func parseHolderName(name string) (pid int, host string, ok bool) {
	_, err := fmt.Sscanf(name, "dynamo journal pid %d host %s", &pid, &host)
	return pid, host, err == nil
}

// InUseError is Open's error when another run holds the job. It matches
// dynamo.ErrJournalInUse.
type InUseError struct {
	Job string // the job's name
	// Host and PID are the host name and process ID of the run that holds
	// the job (empty when the server would not say), and Since when it
	// opened it (zero when not known).
	Host  string
	PID   int
	Since time.Time
}

// Error names the job and, when known, the process and host that hold it
// and since when.
func (e *InUseError) Error() string {
	switch {
	case e.Host == "" && e.PID == 0:
		return fmt.Sprintf("pgjournal: job %q is held by another run", e.Job)
	case e.Since.IsZero():
		return fmt.Sprintf("pgjournal: job %q is held by another run: process %d on host %s", e.Job, e.PID, e.Host)
	}
	return fmt.Sprintf("pgjournal: job %q is held by another run: process %d on host %s, since %s",
		e.Job, e.PID, e.Host, e.Since.UTC().Format(time.RFC3339))
}

// Is matches dynamo.ErrJournalInUse.
func (e *InUseError) Is(target error) bool { return target == dynamo.ErrJournalInUse }

// password is the one the pool connects with, to keep it out of errors.
func (s *Store) password() string { return s.pool.Config().ConnConfig.Password }
