package pgjournal_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/pgjournal"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, pool *pgxpool.Pool, job, schema string) dynamo.Journal {
	t.Helper()
	s, err := pgjournal.New(pool, job, pgjournal.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Open(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func lines(t *testing.T, j dynamo.Journal) []string {
	t.Helper()
	var out []string
	for l, err := range j.Lines(ctxFor(t)) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(l))
	}
	return out
}

func TestInUseNamesTheHolder(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	open(t, pool, "month-end", schema)

	s, err := pgjournal.New(pool, "month-end", pgjournal.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(ctxFor(t))
	if !errors.Is(err, dynamo.ErrJournalInUse) {
		t.Fatalf("second Open: %v, want ErrJournalInUse", err)
	}
	var inUse *pgjournal.InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second Open: %T, want *pgjournal.InUseError", err)
	}
	host, _ := os.Hostname()
	if inUse.Host != host || inUse.PID != os.Getpid() || time.Since(inUse.Since) > time.Hour {
		t.Errorf("holder %q pid %d since %v, want %q pid %d now", inUse.Host, inUse.PID, inUse.Since, host, os.Getpid())
	}
	for _, want := range []string{`"month-end"`, host, "process " + itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// TestFencedByTheEpoch shows the epoch check on its own: a run whose
// connection still works, but whose job another run opened since (as when
// a lock was lost to a partition the run did not notice), writes nothing.
func TestFencedByTheEpoch(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	j := open(t, pool, "fenced", schema)
	if err := j.Append(ctxFor(t), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	_, err := pool.Exec(ctxFor(t), "UPDATE "+pgx.Identifier{schema, "journal_jobs"}.Sanitize()+" SET epoch = epoch + 1 WHERE job = 'fenced'")
	if err != nil {
		t.Fatal(err)
	}
	err = j.Append(ctxFor(t), []byte(`{"n":2}`))
	if !errors.Is(err, dynamo.ErrJournalLost) {
		t.Fatalf("Append after another run's epoch: %v, want ErrJournalLost", err)
	}
	if want := "pgjournal: appending: the job is no longer held by this run: another run opened the job since this run did (its epoch 1 is past)"; err.Error() != want {
		t.Errorf("Append after another run's epoch: %q, want %q", err, want)
	}
	if err := j.Append(ctxFor(t), []byte(`{"n":3}`)); !errors.Is(err, dynamo.ErrJournalLost) {
		t.Fatalf("the Append after: %v, want ErrJournalLost again", err)
	}
	var n int
	if err := pool.QueryRow(ctxFor(t), "SELECT count(*) FROM "+pgx.Identifier{schema, "journal_lines"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d lines stored, want the one appended before", n)
	}
}

func TestPasswordNeverInAnError(t *testing.T) {
	const password = "pw-never-printed-7f3a"
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Password = password
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgjournal.New(pool, "job")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(ctxFor(t))
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the error holds the password: %v", err)
	}
	t.Log(err)
}

// TestPasswordNeverInAnErrorThatQuotesIt connects with the right password
// through a hook whose error quotes it, as an error of a hook or of the
// server may: the store's error does not.
func TestPasswordNeverInAnErrorThatQuotesIt(t *testing.T) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	password := cfg.ConnConfig.Password
	if len(password) < 8 {
		t.Fatal("the test server's password (PGPASSWORD) is too short to be told apart in an error")
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		return errors.New("refused by the hook for password " + c.Config().Password)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgjournal.New(pool, "job")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(ctxFor(t))
	if err == nil || !strings.Contains(err.Error(), "refused by the hook") {
		t.Fatalf("Open through a hook that refuses: %v", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the error holds the password: %v", err)
	}
	if want := "for password xxxxx"; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
}

// TestTablesFromTheSchemaFile applies schema.sql as its comment says, and
// runs a job as a role that may use the tables with the grants it lists,
// but create nothing.
func TestTablesFromTheSchemaFile(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	psql := "psql"
	if bin := os.Getenv("DYNAMO_TEST_PGBIN"); bin != "" {
		psql = filepath.Join(bin, "psql")
	}
	out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "schema="+schema, "-f", "schema.sql").CombinedOutput()
	if err != nil {
		t.Fatalf("psql -f schema.sql: %v\n%s", err, out)
	}

	role := schema + "_app"
	q := pgx.Identifier{schema}.Sanitize()
	r := pgx.Identifier{role}.Sanitize()
	for _, stmt := range []string{
		"CREATE ROLE " + r + " LOGIN PASSWORD 'app-password'",
		"GRANT USAGE ON SCHEMA " + q + " TO " + r,
		"GRANT SELECT, INSERT, UPDATE ON " + q + ".journal_jobs TO " + r,
		"GRANT SELECT, INSERT ON " + q + ".journal_lines TO " + r,
	} {
		if _, err := pool.Exec(ctxFor(t), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP OWNED BY "+r)
		_, _ = pool.Exec(context.Background(), "DROP ROLE "+r)
	})

	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, "app-password"
	app, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	j := open(t, app, "from-the-file", schema)
	if err := j.Append(ctxFor(t), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, open(t, app, "from-the-file", schema)); len(got) != 1 || got[0] != `{"n":1}` {
		t.Fatalf("lines %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestAppendsCommitSynchronously opens a job with a pool whose
// connections start with synchronous_commit off, as a role's or a
// database's default may set it: the connection that appends has it on.
func TestAppendsCommitSynchronously(t *testing.T) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var def string
	if err := pool.QueryRow(ctxFor(t), "SHOW synchronous_commit").Scan(&def); err != nil || def != "off" {
		t.Fatalf("the pool's connections: synchronous_commit %q (%v), want off", def, err)
	}
	j := open(t, pool, "durable", newSchema(t, pool))
	if v, err := pgjournal.Setting(j, "synchronous_commit"); err != nil || v != "on" {
		t.Errorf("the journal's connection: synchronous_commit %q (%v), want on", v, err)
	}
}

// TestLockNotOnAPooledConnection opens a job and takes every connection
// the pool can give: none is the one that holds the job's lock, which
// would otherwise serve other queries and keep the lock after Close.
func TestLockNotOnAPooledConnection(t *testing.T) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 3
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	j := open(t, pool, "unpooled", newSchema(t, pool))
	holder := pgjournal.BackendPID(j)
	for range cfg.MaxConns {
		c, err := pool.Acquire(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if c.Conn().PgConn().PID() == holder {
			t.Fatalf("the pool gave the connection that holds the job (backend %d)", holder)
		}
	}
}
