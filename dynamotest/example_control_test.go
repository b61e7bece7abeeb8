package dynamotest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// A test that drives the fake through its control API, as a test in another
// language or another process would: the same as srv.CompleteBatchTask.
func ExampleServer_ControlHandler() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client := srv.Client()
	batch, err := dynamo.NewBatch("T").AddTask(dynamo.NewTask("001")).Build()
	if err != nil {
		panic(err)
	}
	posted, err := client.PostBatch(ctx, batch)
	if err != nil {
		panic(err)
	}

	// The API host serves the control API under /_dynamotest/, without credentials.
	url := srv.URL + dynamotest.ControlPrefix + "batches/" + posted.ID + "/tasks/" + posted.TaskIDs[0] + "/complete"
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"results": [{"id": "Profile", "content": "%PDF-1.7"}]}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	task, err := client.GetBatchTaskStatus(ctx, posted.ID, posted.TaskIDs[0])
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, task.StatusMessage, task.Results)
	// Output: 200 Completed [Profile]
}
