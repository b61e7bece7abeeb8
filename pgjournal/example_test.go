package pgjournal_test

import (
	"context"
	"errors"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/pgjournal"
)

// A service with several replicas starts or resumes the month-end job on
// whichever replica is asked: the job's journal is in the database they
// share, so the replica that gets the job posts only what no earlier run
// recorded, and a second replica asked at the same time posts nothing.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "") // the service's pool; PG* variables here
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	client, err := dynamo.NewClientFromEnv()
	if err != nil {
		log.Fatal(err)
	}

	store, err := pgjournal.New(pool, "month-end-2026-01")
	if err != nil {
		log.Fatal(err)
	}
	var tasks []dynamo.Task // the month's records
	report, err := client.PostBulk(ctx, &dynamo.Batch{Template: "3242374783", Tasks: tasks},
		dynamo.WithJournalStore(store))
	var inUse *pgjournal.InUseError
	switch {
	case errors.As(err, &inUse):
		log.Printf("month-end runs on %s (process %d): nothing posted here", inUse.Host, inUse.PID)
	case err != nil:
		log.Fatal(err) // ErrJournalLost and other journal failures: the next run resumes
	default:
		log.Printf("%d chunks", len(report.Chunks))
	}
}
