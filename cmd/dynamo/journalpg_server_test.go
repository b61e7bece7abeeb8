//go:build pgtest

// These tests need a PostgreSQL server: .ci/postgres runs them with
// go test -tags pgtest, and the PG* variables it exports.

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo/pgjournal"
)

// postgresJournalURL is the test server's URL without its password, which
// the tool reads from PGPASSWORD. The tool uses the default schema: each
// test names a job of its own.
func postgresJournalURL(t *testing.T) string {
	t.Helper()
	for _, v := range []string{"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: run these tests with .ci/postgres go test -tags pgtest ./cmd/dynamo/", v)
		}
	}
	return fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=disable",
		os.Getenv("PGUSER"), os.Getenv("PGHOST"), os.Getenv("PGPORT"), os.Getenv("PGDATABASE"))
}

func noPassword(t *testing.T, r result) {
	t.Helper()
	if pw := os.Getenv("PGPASSWORD"); strings.Contains(r.stdout+r.stderr, pw) {
		t.Fatalf("the database password was printed:\n%s", r)
	}
}

func TestBulkPostgresJournal(t *testing.T) {
	f := newFake(t)
	f.completeOnAccept()
	csv := writeFile(t, "accounts.csv", records(2500))
	url := postgresJournalURL(t)
	job := "tool-" + t.Name() + "-" + fmt.Sprint(os.Getpid())

	r := runWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--journal", url, "--job", job)
	wantCode(t, r, exitOK)
	noPassword(t, r)
	wantContains(t, "stdout", r.stdout, "chunks: 3 accepted, 0 skipped")

	r = runWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--journal", url, "--job", job)
	wantCode(t, r, exitOK)
	noPassword(t, r)
	wantContains(t, "stdout", r.stdout, "chunks: 0 accepted, 3 skipped")
	if n := len(f.srv.Batches()); n != 3 {
		t.Errorf("%d batches posted, want 3: the second run posted again", n)
	}
}

func TestBulkPostgresJournalInUse(t *testing.T) {
	f := newFake(t)
	csv := writeFile(t, "accounts.csv", records(10))
	url := postgresJournalURL(t)
	job := "tool-" + t.Name() + "-" + fmt.Sprint(os.Getpid())

	pool, err := pgxpool.New(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := pgjournal.New(pool, job)
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	r := runWith(t, f.env, "bulk", "--template", "T", "--csv", csv, "--journal", url, "--job", job)
	wantCode(t, r, exitFailed)
	noPassword(t, r)
	host, _ := os.Hostname()
	wantContains(t, "stderr", r.stderr, "is in use by another run",
		fmt.Sprintf("process %d on host %s", os.Getpid(), host), "nothing was posted")
	if n := len(f.srv.Batches()); n != 0 {
		t.Errorf("%d batches posted by a refused run", n)
	}
}
