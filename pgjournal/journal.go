package pgjournal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"

	"github.com/jackc/pgx/v5"
)

// journal is a job held by one run: the connection that holds its lock,
// and the epoch the run's Open set.
type journal struct {
	store *Store
	epoch int64
	// mu serializes the use of conn (a pgx.Conn is not safe for concurrent
	// use). lost is set once the hold is known to be gone.
	mu     sync.Mutex
	conn   *pgx.Conn
	lost   error
	closed bool
}

// Lines reads the job's lines in the order they were appended, on the
// connection that holds the job.
func (j *journal) Lines(ctx context.Context) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		j.mu.Lock()
		defer j.mu.Unlock()
		if err := j.usable(); err != nil {
			yield(nil, err)
			return
		}
		rows, err := j.conn.Query(ctx, "SELECT line::text FROM "+j.store.tables.lines+" WHERE job = $1 ORDER BY seq", j.store.job)
		if err != nil {
			yield(nil, j.failed("reading the journal", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var line []byte
			if err := rows.Scan(&line); err != nil {
				yield(nil, j.failed("reading the journal", err))
				return
			}
			if !yield(line, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, j.failed("reading the journal", err))
		}
	}
}

// Append writes line in its own transaction, committed with
// synchronous_commit on before it returns, and only while the job's epoch
// is the run's: a run that another took the job from writes nothing.
func (j *journal) Append(ctx context.Context, line []byte) error {
	if bytes.IndexByte(line, '\n') >= 0 {
		return j.store.errorf("a journal line cannot hold a newline")
	}
	if !json.Valid(line) {
		return j.store.errorf("a journal line must be one JSON value")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	// FOR SHARE makes an Open that increments the epoch wait for this
	// insert, and this insert see the new epoch of an Open that committed.
	tag, err := j.conn.Exec(ctx, `WITH held AS (
			SELECT job FROM `+j.store.tables.jobs+` WHERE job = $1 AND epoch = $2 FOR SHARE)
		INSERT INTO `+j.store.tables.lines+` (job, line) SELECT job, $3::json FROM held`,
		j.store.job, j.epoch, string(line))
	if err != nil {
		return j.failed("appending", err)
	}
	if tag.RowsAffected() != 1 {
		j.lost = j.store.lostErr("appending", nil, fmt.Sprintf("another run opened the job since this run did (its epoch %d is past)", j.epoch))
		return j.lost
	}
	return nil
}

// usable reports why the journal can no longer be used, if it cannot.
func (j *journal) usable() error {
	switch {
	case j.closed:
		return j.store.errorf("the journal is closed")
	case j.lost != nil:
		return j.lost
	}
	return nil
}

// failed wraps the error of a statement. When the connection that holds
// the job is gone, so is the hold: the error then matches ErrJournalLost,
// and the journal writes nothing more.
func (j *journal) failed(what string, err error) error {
	if j.conn.IsClosed() {
		j.lost = j.store.lostErr(what, err, "the connection that held it was lost")
		return j.lost
	}
	return j.store.errorf("%s: %w", what, err)
}

// Close releases the job and closes its connection.
func (j *journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var err error
	if j.lost == nil && !j.conn.IsClosed() {
		// Unlocked before the connection closes, so that the next run
		// finds the job free at once, not once the server has noticed.
		if _, uerr := j.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", j.store.lockKey); uerr != nil {
			err = j.store.errorf("releasing the job: %w", uerr)
		}
	}
	_ = j.conn.Close(ctx)
	return err
}

// backendPID is the server process of the connection that holds the job,
// for the tests that end it.
func (j *journal) backendPID() uint32 { return j.conn.PgConn().PID() }
