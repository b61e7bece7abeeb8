// Command task generates one document now, with the Task API: it posts one
// task, waits for it and downloads its result files into a new temporary
// folder, whose name it prints.
//
// With no DYNAMO_TENANT_ID in the environment it runs against an in-process
// fake server (package dynamotest), so it works without an account. With
// DYNAMO_TENANT_ID and DYNAMO_API_KEY set it talks to the real API and reads:
//
//	DYNAMO_TEMPLATE        the template's reference (required)
//	DYNAMO_RECORD_ID       the Salesforce record (required with a session)
//	DYNAMO_SF_…            a source of Salesforce sessions, as the dynamo tool
//	                       reads it (package salesforce's FromEnv; optional:
//	                       standalone without)
//	DYNAMO_BASE_URL        another API base URL (optional)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	client, req, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	resp, err := client.PostTask(ctx, req)
	if errors.Is(err, dynamo.ErrOutcomeUnknown) {
		return fmt.Errorf("the task may have been created; look for it in the Dynamo console before posting again: %w", err)
	}
	if err != nil {
		return fmt.Errorf("posting the task: %w", err)
	}
	fmt.Printf("task %s accepted (API calls: %s this term)\n", resp.TaskID, resp.Usage.API)

	status, err := client.WaitTask(ctx, resp.TaskID, dynamo.WithTaskProgress(func(st *dynamo.TaskStatus) {
		fmt.Printf("  status: %s\n", st.StatusMessage)
	}))
	if err != nil {
		return fmt.Errorf("waiting for task %s: %w", resp.TaskID, err)
	}
	if status.Errors {
		return fmt.Errorf("the task failed: %s %v", status.StatusMessage, status.Log)
	}
	return download(ctx, client, status)
}

// download writes every result file of the task into a new folder.
func download(ctx context.Context, client *dynamo.Client, st *dynamo.TaskStatus) error {
	dir, err := os.MkdirTemp("", "dynamo-task-")
	if err != nil {
		return err
	}
	for _, r := range st.ResultList {
		if r.ID == "" || r.ID != filepath.Base(r.ID) || r.ID == "." || r.ID == ".." {
			return fmt.Errorf("result %q is not a plain file name", r.ID)
		}
		path := filepath.Join(dir, r.ID)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		n, err := client.DownloadResult(ctx, r, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("downloading %s: %w", r.ID, err)
		}
		fmt.Printf("%s (%d bytes)\n", path, n)
	}
	return nil
}

// setup returns a client for the real API when credentials are in the
// environment, otherwise one for an in-process fake server.
func setup() (*dynamo.Client, *dynamo.TaskRequest, func(), error) {
	if os.Getenv(dynamo.EnvTenantID) == "" {
		fmt.Println("DYNAMO_TENANT_ID is not set: running against an in-process fake server (dynamotest)")
		srv := dynamotest.NewServer(dynamotest.WithAutoComplete(1500*time.Millisecond), dynamotest.WithResultFiles("Quote.pdf"))
		return srv.Client(), &dynamo.TaskRequest{
			Template:    "0691x000002AbCdQAK",
			Params:      dynamo.Params{"id": "0015g00000A1AAA"},
			Integration: dynamo.Salesforce("fake-session", "example.my.salesforce.com"),
		}, srv.Close, nil
	}
	client, err := dynamo.NewClientFromEnv(dynamo.WithUserAgent("dynamo-task-example"))
	if err != nil {
		return nil, nil, nil, err
	}
	req := &dynamo.TaskRequest{Template: os.Getenv("DYNAMO_TEMPLATE"), Params: dynamo.Params{}}
	if id := os.Getenv("DYNAMO_RECORD_ID"); id != "" {
		req.Params["id"] = id
	}
	src, err := salesforce.FromEnv()
	switch {
	case errors.Is(err, salesforce.ErrNoCredentials): // standalone
	case err != nil:
		return nil, nil, nil, err
	default:
		req.Integration = dynamo.SalesforceFrom(src) // a session minted for the post
	}
	if err := req.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w (set DYNAMO_TEMPLATE, and DYNAMO_RECORD_ID with a Salesforce session)", err)
	}
	return client, req, func() {}, nil
}
