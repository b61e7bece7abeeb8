package pgjournal_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
)

// children are the programs the test binary runs instead of its tests when
// a test starts it again as a child process, by the name in envChild.
var children = map[string]func() int{}

const envChild = "PGJOURNAL_TEST_CHILD"

// howToStart is what a run without a server is told.
const howToStart = `pgjournal's tests need a PostgreSQL server, and found none: %v

Run them against a throwaway server that the repository's script starts and stops
(PostgreSQL 15's server binaries, Debian's postgresql-15):

	.ci/postgres                      # from the repository's root
	.ci/postgres go test -run TestConformance ./pgjournal/...

or point them at a server of yours, in a database they may create schemas in,
with the standard variables: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
`

// TestMain runs a child program when asked to; otherwise it fails the run
// at once, saying how to start a server, when none answers.
func TestMain(m *testing.M) {
	if name := os.Getenv(envChild); name != "" {
		child, ok := children[name]
		if !ok {
			fmt.Fprintln(os.Stderr, "no child program", name)
			os.Exit(2)
		}
		os.Exit(child())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := ping(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, howToStart, err)
		os.Exit(1)
	}
	// Every connection of the store, a journal's included, is closed once
	// its test ends, and no goroutine of the store outlives it.
	goleak.VerifyTestMain(m)
}

func ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, "")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// newPool returns a pool on the test server, closed when t ends.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newSchema returns the name of a schema of t's own, dropped when t ends.
func newSchema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "dynamo_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return name
}
