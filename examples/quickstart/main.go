// Command quickstart posts a batch of two tasks, waits for it to finish and
// prints what happened.
//
// With no DYNAMO_TENANT_ID in the environment it runs against an in-process
// fake server (package dynamotest), so it works without an account. With
// DYNAMO_TENANT_ID and DYNAMO_API_KEY set it talks to the real API and reads:
//
//	DYNAMO_TEMPLATE        the template's ID (required)
//	DYNAMO_RECORD_IDS      comma-separated Salesforce record IDs (required)
//	DYNAMO_BASE_URL        another API base URL (optional)
//
// and, optionally, a source of Salesforce sessions as the dynamo tool reads
// it (package salesforce's FromEnv): DYNAMO_SF_SESSION_ID and
// DYNAMO_SF_SERVER_URL, or a connected app's JWT bearer or client
// credentials flow, or DYNAMO_SF_ORG for the Salesforce CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	client, template, ids, integration, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()

	b := dynamo.NewBatch(template).WithIntegration(integration)
	for _, id := range ids {
		b.AddTask(dynamo.NewTask(id).Param("locale", "en-US"))
	}
	batch, err := b.Build()
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	resp, err := client.PostBatch(ctx, batch)
	if err != nil {
		return fmt.Errorf("posting the batch: %w", err)
	}
	tasks := fmt.Sprintf("%d tasks", len(resp.TaskIDs))
	if len(resp.TaskIDs) == 1 {
		tasks = "1 task"
	}
	fmt.Printf("batch %s accepted: %s, licence usage %d\n", resp.ID, tasks, resp.LicenseUsage)

	status, err := client.WaitBatch(ctx, resp.ID, dynamo.WithBatchProgress(func(s *dynamo.BatchStatus) {
		fmt.Printf("  status: %s\n", s.StatusMessage)
	}))
	if err != nil {
		return fmt.Errorf("waiting for batch %s: %w", resp.ID, err)
	}
	for i, taskID := range resp.TaskIDs {
		task, err := client.GetBatchTaskStatus(ctx, resp.ID, taskID)
		if err != nil {
			return err
		}
		fmt.Printf("task %d (record %s): %s, results %v\n", i+1, ids[i], task.StatusMessage, task.Results)
	}
	if status.Errors {
		return errors.New("the batch completed with errors")
	}
	fmt.Println("batch completed")
	return nil
}

// setup returns a client for the real API when credentials are in the
// environment, otherwise one for an in-process fake server.
func setup() (client *dynamo.Client, template string, ids []string, in *dynamo.Integration, cleanup func(), err error) {
	if os.Getenv(dynamo.EnvTenantID) == "" {
		fmt.Println("DYNAMO_TENANT_ID is not set: running against an in-process fake server (dynamotest)")
		srv := dynamotest.NewServer(dynamotest.WithAutoComplete(1500*time.Millisecond), dynamotest.WithResultFiles("Profile"))
		return srv.Client(), "3242374783", []string{"0015g00000A1AAA", "0015g00000A2AAA"},
			dynamo.Salesforce("fake-session", "example.my.salesforce.com"), srv.Close, nil
	}
	client, err = dynamo.NewClientFromEnv(dynamo.WithUserAgent("dynamo-quickstart"))
	if err != nil {
		return nil, "", nil, nil, nil, err
	}
	template = os.Getenv("DYNAMO_TEMPLATE")
	for _, id := range strings.Split(os.Getenv("DYNAMO_RECORD_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if template == "" || len(ids) == 0 {
		return nil, "", nil, nil, nil, errors.New("set DYNAMO_TEMPLATE and DYNAMO_RECORD_IDS (comma-separated) to post to the real API")
	}
	src, err := salesforce.FromEnv()
	switch {
	case errors.Is(err, salesforce.ErrNoCredentials): // no Salesforce
	case err != nil:
		return nil, "", nil, nil, nil, err
	default:
		in = dynamo.SalesforceFrom(src) // a session for each post
	}
	return client, template, ids, in, func() {}, nil
}
