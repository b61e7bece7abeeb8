package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func ExampleNewClient() {
	srv := dynamotest.NewServer() // in production: no WithBaseURL, the real API
	defer srv.Close()

	client, err := dynamo.NewClient(srv.TenantID, srv.APIKey,
		dynamo.WithBaseURL(srv.URL),
		dynamo.WithUserAgent("month-end-report/1.0"),
		dynamo.WithMaxRetries(2),
	)
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.GetBatchStatus(context.Background(), "no-such-batch")
	fmt.Println(errors.Is(err, dynamo.ErrNotFound))
	// Output: true
}

func ExampleNewClientFromEnv() {
	// DYNAMO_TENANT_ID and DYNAMO_API_KEY hold the credentials, so that they
	// never appear in code or on a command line.
	os.Unsetenv(dynamo.EnvTenantID)
	_, err := dynamo.NewClientFromEnv()
	fmt.Println(err)
	fmt.Println(errors.Is(err, dynamo.ErrInvalidConfig))
	// Output:
	// dynamo: NewClientFromEnv: DYNAMO_TENANT_ID: not set; set it to the tenant ID (with Salesforce, the organization ID)
	// true
}

func ExampleClient_PostBatch() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()

	batch, err := dynamo.NewBatch("3242374783").
		WithIntegration(dynamo.Salesforce("00D...session", "https://example.my.salesforce.com")).
		AddTask(
			dynamo.NewTask("0015g00000A1AAA"),
			dynamo.NewTask("0015g00000A2AAA").Param("locale", "fi-FI"),
		).
		Build()
	if err != nil {
		log.Fatal(err) // a *dynamo.ValidationError naming every problem
	}
	resp, err := client.PostBatch(context.Background(), batch)
	if errors.Is(err, dynamo.ErrOutcomeUnknown) {
		log.Fatal("the batch may exist: check before posting again: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Message, len(resp.TaskIDs), "tasks, licence usage", resp.LicenseUsage)
	// Output: Success 2 tasks, licence usage 2
}

func ExampleClient_PostBatchWithTemplate() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()

	// TemplateFromFile streams the file; here the template is in memory.
	tmpl := dynamo.TemplateFromBytes("invoice.dap", []byte("...DAP bytes..."))
	// No template reference: the template is embedded.
	batch, err := dynamo.NewBatch("").
		AddPart("rates", map[string]float64{"EUR": 1, "USD": 1.08}).
		AddTask(dynamo.NewTask("0015g00000A1AAA").PartParam("rates", "exchangeRates")).
		Build()
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.PostBatchWithTemplate(context.Background(), tmpl, batch)
	if err != nil {
		log.Fatal(err)
	}
	posted, _ := srv.Batch(resp.ID)
	fmt.Println(posted.EmbeddedTemplate.FileName, posted.Tasks[0].Params["exchangeRates"])
	// Output: invoice.dap map[EUR:1 USD:1.08]
}

func ExampleClient_GetBatchStatus() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	resp, err := client.PostBatch(ctx, &dynamo.Batch{
		Template: "3242374783",
		Tasks:    []dynamo.Task{{Params: dynamo.Params{"id": "1111"}}, {Params: dynamo.Params{"id": "2222"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0]) // the fake lets a test drive progress

	status, err := client.GetBatchStatus(ctx, resp.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status.StatusMessage, status.Completed)
	for _, task := range status.Tasks {
		fmt.Println(task.Completed)
	}
	// Output:
	// Started false
	// true
	// false
}

func ExampleClient_WaitBatch() {
	srv := dynamotest.NewServer(dynamotest.WithAutoComplete(50*time.Millisecond), dynamotest.WithResultFiles("Profile"))
	defer srv.Close()
	client := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	resp, err := client.PostBatch(ctx, &dynamo.Batch{Template: "t", Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "1111"}}}})
	if err != nil {
		log.Fatal(err)
	}
	status, err := client.WaitBatch(ctx, resp.ID, dynamo.WithPollInterval(20*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status.StatusMessage, "errors:", status.Errors)

	task, err := client.GetBatchTaskStatus(ctx, resp.ID, resp.TaskIDs[0])
	if err != nil {
		log.Fatal(err)
	}
	var out countingWriter
	if _, err := client.DownloadResult(ctx, task.ResultList[0], &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.ResultList[0].ID, out > 0)
	// Output:
	// Completed errors: false
	// Profile true
}

type countingWriter int

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

func ExampleClient_PostTask() {
	srv := dynamotest.NewServer() // in production: the real API, same credentials as batches
	defer srv.Close()
	client := srv.Client()

	// One document for one Salesforce record, now.
	resp, err := client.PostTask(context.Background(), &dynamo.TaskRequest{
		Template:    "0691x000002AbCdQAK", // the DAP file's Content Document ID
		Params:      dynamo.Params{"id": "0015g00000A1AAA", "locale": "fi-FI"},
		Integration: dynamo.Salesforce("00D...session", "https://example.my.salesforce.com"),
	})
	if errors.Is(err, dynamo.ErrOutcomeUnknown) {
		log.Fatal("the task may exist: check before posting again: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Message, "API calls:", resp.Usage.API, "this term")
	// Output: Success API calls: 1 of 10000 this term
}

func ExampleClient_PostTaskWithTemplate() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()

	// Standalone (no Salesforce): the template is embedded, and part
	// "param.order" becomes the task's param "order".
	tmpl := dynamo.TemplateFromBytes("receipt.dap", []byte("...DAP bytes..."))
	resp, err := client.PostTaskWithTemplate(context.Background(), tmpl, &dynamo.TaskRequest{
		Params: dynamo.Params{"currency": "EUR"},
		Parts:  []dynamo.Part{{Name: "order", Value: map[string]any{"total": 42}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	posted, _ := srv.Task(resp.TaskID)
	fmt.Println(posted.EmbeddedTemplate.FileName, posted.Params["currency"], posted.Params["order"])
	// Output: receipt.dap EUR map[total:42]
}

func ExampleClient_WaitTask() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	resp, err := client.PostTask(ctx, &dynamo.TaskRequest{Template: "0691x000002AbCdQAK"})
	if err != nil {
		log.Fatal(err)
	}
	// The test drives the fake through the task's life, one step per poll.
	steps := []func(){
		func() { srv.QueueTask(resp.TaskID) },
		func() { srv.StartTask(resp.TaskID) },
		func() {
			srv.CompleteTask(resp.TaskID, dynamotest.ResultFile{ID: "Receipt", Content: []byte("%PDF")})
		},
	}
	status, err := client.WaitTask(ctx, resp.TaskID,
		dynamo.WithPollInterval(time.Millisecond),
		dynamo.WithTaskProgress(func(st *dynamo.TaskStatus) {
			fmt.Println(st.StatusMessage)
			if len(steps) > 0 {
				steps[0]()
				steps = steps[1:]
			}
		}))
	if err != nil {
		log.Fatal(err)
	}
	var pdf bytes.Buffer
	if _, err := client.DownloadResult(ctx, status.ResultList[0], &pdf); err != nil {
		log.Fatal(err)
	}
	fmt.Println(status.ResultList[0].ID, pdf.String())
	// Output:
	// Received
	// Queued
	// Running
	// Ready
	// Receipt %PDF
}

func ExampleClient_BatchTaskStatuses() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	resp, err := client.PostBatch(ctx, &dynamo.Batch{
		Template: "3242374783",
		Tasks:    []dynamo.Task{{Params: dynamo.Params{"id": "1111"}}, {Params: dynamo.Params{"id": "2222"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.CompleteBatchTask(resp.ID, resp.TaskIDs[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("%PDF")})
	srv.FailBatchTask(resp.ID, resp.TaskIDs[1], "template error")

	// Every task of the batch, in its order, read a few at a time.
	for st, err := range client.BatchTaskStatuses(ctx, resp.ID) {
		if err != nil { // a *BatchTaskStatusError names its task, and the loop goes on
			fmt.Println(err)
			continue
		}
		fmt.Println(st.StatusMessage, st.Errors, st.Results)
	}
	// Output:
	// Completed false [Profile]
	// template error true []
}
