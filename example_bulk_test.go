package dynamo_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// csvSource is a BulkSource that reads record IDs, one a line, from the
// start on every call: here a string, in a program a file opened afresh.
type csvSource string

func (s csvSource) Tasks(ctx context.Context) iter.Seq2[dynamo.Task, error] {
	return func(yield func(dynamo.Task, error) bool) {
		lines := bufio.NewScanner(strings.NewReader(string(s)))
		for lines.Scan() {
			if !yield(dynamo.Task{Params: dynamo.Params{"id": lines.Text()}}, nil) {
				return
			}
		}
		if err := lines.Err(); err != nil {
			yield(dynamo.Task{}, err)
		}
	}
}

// ExampleClient_PostBulkFrom posts records read from a source, which is read
// twice (to validate the whole job, then to post it) and never held whole.
func ExampleClient_PostBulkFrom() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()

	var ids strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&ids, "a01%07d\n", i)
	}
	// b gives every chunk's template and integration; its Tasks stay empty.
	b := &dynamo.Batch{Template: "0691x000002AbCdQAK"}
	report, err := client.PostBulkFrom(context.Background(), b, csvSource(ids.String()))
	if err != nil { // a chunk not accepted, the job stopped, or the source failed or changed
		log.Fatal(err)
	}
	for _, ch := range report.Chunks {
		fmt.Printf("records [%d, %d): %v\n", ch.First, ch.End, ch.State)
	}
	fmt.Println("batches on the server:", len(srv.Batches()))
	// Output:
	// records [0, 1000): accepted
	// records [1000, 2000): accepted
	// records [2000, 2500): accepted
	// batches on the server: 3
}

// ExampleAcceptedChunks reads every record's task ID back from a finished
// job's journal, since the report keeps none.
func ExampleAcceptedChunks() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "job")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	journal := dynamo.FileJournal(filepath.Join(dir, "job.jsonl"))

	b := &dynamo.Batch{Template: "0691x000002AbCdQAK"}
	for i := range 5 {
		b.Tasks = append(b.Tasks, dynamo.Task{Params: dynamo.Params{"id": fmt.Sprintf("a01%07d", i)}})
	}
	if _, err := client.PostBulk(ctx, b, dynamo.WithJournalStore(journal), dynamo.WithChunkSize(2)); err != nil {
		log.Fatal(err)
	}
	// The chunks come in the order their outcomes were recorded, which
	// concurrent posts make any order: place each record by its number.
	taskIDs := make([]string, len(b.Tasks))
	for ch, err := range dynamo.AcceptedChunks(ctx, journal) {
		if err != nil {
			log.Fatal(err)
		}
		copy(taskIDs[ch.First:ch.End], ch.TaskIDs)
	}
	for i, id := range taskIDs {
		fmt.Println(b.Tasks[i].Params["id"], "has a task ID:", id != "")
	}
	// Output:
	// a010000000 has a task ID: true
	// a010000001 has a task ID: true
	// a010000002 has a task ID: true
	// a010000003 has a task ID: true
	// a010000004 has a task ID: true
}
