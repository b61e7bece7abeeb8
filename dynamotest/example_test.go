package dynamotest_test

import (
	"context"
	"fmt"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// A test that waits for the post to be stored, then decides when the client gets
// its answer.
func ExampleWithOnAccept() {
	accepted := make(chan dynamotest.Accepted, 1)
	srv := dynamotest.NewServer(dynamotest.WithOnAccept(func(a dynamotest.Accepted) { accepted <- a }))
	defer srv.Close()
	hold := make(chan struct{})
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hold: hold})

	answer := make(chan error)
	go func() {
		_, err := srv.Client().PostBatch(context.Background(), &dynamo.Batch{
			Template: "3242374783",
			Tasks:    []dynamo.Task{{Params: dynamo.Params{"id": "1111"}}},
		})
		answer <- err
	}()
	a := <-accepted
	fmt.Println("stored, not yet answered:", a.Batch.Tasks[0].Params["id"])
	close(hold)
	fmt.Println("answer error:", <-answer)
	// Output:
	// stored, not yet answered: 1111
	// answer error: <nil>
}
