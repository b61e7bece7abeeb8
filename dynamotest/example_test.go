package dynamotest_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// A test that starts from "a batch with one finished task and one still running".
func ExampleServer_SeedBatch() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	batchID, taskIDs := srv.SeedBatch(dynamotest.BatchSeed{Tasks: []dynamotest.BatchTaskSeed{
		{Stage: dynamotest.StageDone, Results: []dynamotest.ResultFile{{ID: "Profile", Content: []byte("%PDF-1.7")}}},
		{Stage: dynamotest.StageRunning},
	}})

	ctx := context.Background()
	client := srv.Client()
	batch, err := client.GetBatchStatus(ctx, batchID)
	if err != nil {
		panic(err)
	}
	task, err := client.GetBatchTaskStatus(ctx, batchID, taskIDs[0])
	if err != nil {
		panic(err)
	}
	var pdf bytes.Buffer
	if _, err := client.DownloadResult(ctx, task.ResultList[0], &pdf); err != nil {
		panic(err)
	}
	fmt.Println(batch.StatusMessage, task.StatusMessage, pdf.String())
	// Output: Started Completed %PDF-1.7
}

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
