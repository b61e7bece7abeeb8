package pgjournal_test

import (
	"context"
	"testing"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/journaltest"
	"github.com/dynamokit/dynamo/pgjournal"
)

func TestConformance(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	journaltest.TestStore(t,
		func(t *testing.T, job string) dynamo.JournalStore {
			s, err := pgjournal.New(pool, job, pgjournal.WithSchema(schema))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) {
			// The server ends the connection that holds the job, as when an
			// administrator or a failover does; pg_terminate_backend waits
			// until it is gone, and its lock with it.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var ended bool
			err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1, 30000)", int32(pgjournal.BackendPID(j))).Scan(&ended)
			if err != nil || !ended {
				t.Fatalf("ending the connection that holds the job: %v (ended: %v)", err, ended)
			}
		}))
}
