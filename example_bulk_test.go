package dynamo_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"log"
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
