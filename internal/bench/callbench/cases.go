package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/dynamokit/dynamo"
)

// clients are the two clients under test, talking to one server.
type clients struct {
	srv  *apiServer
	sdk  *dynamo.Client
	hand *handClient
}

// newTransport is the transport each client gets its own copy of:
// http.DefaultTransport's settings, with room for as many idle keep-alive
// connections per host as BatchTaskStatuses fetches at once, so that neither
// client redials in steady state.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * statusConcurrency
	return t
}

func newClients(srv *apiServer) (*clients, error) {
	sdk, err := dynamo.NewClient(tenantID, apiKey,
		dynamo.WithBaseURL(srv.URL),
		dynamo.WithHTTPClient(&http.Client{Transport: newTransport()}),
		dynamo.WithUserAgent("callbench"))
	if err != nil {
		return nil, err
	}
	hand := &handClient{
		hc:        &http.Client{Transport: newTransport()},
		base:      srv.URL,
		tenant:    tenantID,
		key:       apiKey,
		userAgent: "callbench baseline (" + runtime.Version() + ")",
	}
	return &clients{srv: srv, sdk: sdk, hand: hand}, nil
}

func (c *clients) close() {
	c.sdk.CloseIdleConnections()
	c.hand.hc.CloseIdleConnections()
}

// callCase is one API call made by both clients. Each function makes the
// call once and checks its result.
type callCase struct {
	name string
	// tasks is the task count of a batch post, which the server's answer
	// must match; 0 for other calls.
	tasks int
	sdk   func(context.Context) error
	hand  func(context.Context) error
}

// callCaseNames are the per-call cases, in the order they are run.
var callCaseNames = []string{
	"GetBatchStatus", "GetBatchTaskStatus", "GetTask",
	"PostBatch/1", "PostBatch/1000", "PostTask", "PostBatchWithTemplate",
}

// templateTasks is how many tasks the PostBatchWithTemplate case posts.
const templateTasks = 10

// callCases builds every per-call case. Their inputs are built once, as a
// service holds its records before it posts them.
func (c *clients) callCases() []callCase {
	in := dynamo.Salesforce(sessionID, serverURL)
	handIn := &handIntegration{Type: dynamo.IntegrationSalesforce, SessionID: sessionID, ServerURL: serverURL}
	recs := newRecords(dynamo.MaxTasksPerBatch)
	batch := func(n int, template string) (*dynamo.Batch, *handBatch) {
		sub := &records{params: recs.params[:n]}
		return &dynamo.Batch{Template: template, Tasks: sub.sdkTasks(), Integration: in},
			&handBatch{Template: template, Tasks: sub.handTasks(), Integration: handIn}
	}
	one, handOne := batch(1, templateRef)
	full, handFull := batch(dynamo.MaxTasksPerBatch, templateRef)
	embedded, handEmbedded := batch(templateTasks, "")
	tmpl := templateBytes()
	firstTask := taskUUID(0)
	task := &dynamo.TaskRequest{Template: templateRef, Params: recordParams(0), Integration: in}
	handTaskReq := &handTaskRequest{Template: templateRef, Params: task.Params, Integration: handIn}

	postBatch := func(b *dynamo.Batch) func(context.Context) error {
		return func(ctx context.Context) error {
			resp, err := c.sdk.PostBatch(ctx, b)
			return checkBatch(resp, err, len(b.Tasks))
		}
	}
	handPostBatch := func(b *handBatch) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := c.hand.postBatch(ctx, b)
			return err
		}
	}
	return []callCase{
		{
			name: "GetBatchStatus",
			sdk: func(ctx context.Context) error {
				st, err := c.sdk.GetBatchStatus(ctx, smallBatchID)
				if err != nil {
					return err
				}
				return wantCount(len(st.Tasks), 10)
			},
			hand: func(ctx context.Context) error {
				st, err := c.hand.getBatchStatus(ctx, smallBatchID)
				if err != nil {
					return err
				}
				return wantCount(len(st.Tasks), 10)
			},
		},
		{
			name: "GetBatchTaskStatus",
			sdk: func(ctx context.Context) error {
				st, err := c.sdk.GetBatchTaskStatus(ctx, smallBatchID, firstTask)
				if err != nil {
					return err
				}
				return wantCount(len(st.ResultList), 1)
			},
			hand: func(ctx context.Context) error {
				st, err := c.hand.getTaskStatus(ctx, smallBatchID, firstTask)
				if err != nil {
					return err
				}
				return wantCount(len(st.ResultList), 1)
			},
		},
		{
			name: "GetTask",
			sdk: func(ctx context.Context) error {
				st, err := c.sdk.GetTask(ctx, apiTaskID)
				if err != nil {
					return err
				}
				return wantCount(len(st.ResultList), 1)
			},
			hand: func(ctx context.Context) error {
				st, err := c.hand.getTask(ctx, apiTaskID)
				if err != nil {
					return err
				}
				return wantCount(len(st.ResultList), 1)
			},
		},
		{name: "PostBatch/1", tasks: 1, sdk: postBatch(one), hand: handPostBatch(handOne)},
		{name: "PostBatch/1000", tasks: dynamo.MaxTasksPerBatch, sdk: postBatch(full), hand: handPostBatch(handFull)},
		{
			name: "PostTask",
			sdk: func(ctx context.Context) error {
				_, err := c.sdk.PostTask(ctx, task)
				return err
			},
			hand: func(ctx context.Context) error {
				_, err := c.hand.postTask(ctx, handTaskReq)
				return err
			},
		},
		{
			name:  "PostBatchWithTemplate",
			tasks: templateTasks,
			sdk: func(ctx context.Context) error {
				resp, err := c.sdk.PostBatchWithTemplate(ctx, dynamo.TemplateFromBytes(templateName, tmpl), embedded)
				return checkBatch(resp, err, templateTasks)
			},
			hand: func(ctx context.Context) error {
				_, err := c.hand.postBatchWithTemplate(ctx, templateName, tmpl, handEmbedded)
				return err
			},
		},
	}
}

func checkBatch(resp *dynamo.BatchResponse, err error, tasks int) error {
	if err != nil {
		return err
	}
	return wantCount(len(resp.TaskIDs), tasks)
}

// wantCount checks the number of items in an answer.
func wantCount(got, want int) error {
	if got != want {
		return fmt.Errorf("answer holds %d items, want %d", got, want)
	}
	return nil
}
