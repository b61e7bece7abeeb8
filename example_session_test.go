package dynamo_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// vaultSessions stands for a program's own SessionSource: here it counts
// the sessions it gives, all of the fake's tenant's org. Package salesforce
// has sources for the OAuth flows and the Salesforce CLI.
type vaultSessions struct{ given atomic.Int32 }

func (v *vaultSessions) Session(ctx context.Context) (dynamo.Session, error) {
	n := v.given.Add(1)
	return dynamo.Session{
		ID:        fmt.Sprintf("00D000000000001!AQexample%d", n),
		ServerURL: "https://example.my.salesforce.com",
	}, nil
}

func ExampleSalesforceFrom() {
	srv := dynamotest.NewServer()
	defer srv.Close()
	client := srv.Client()

	src := &vaultSessions{}
	batch, err := dynamo.NewBatch("3242374783").
		WithIntegration(dynamo.SalesforceFrom(src)). // asked for a session by every post
		AddTask(dynamo.NewTask("0015g00000A1AAA")).
		Build()
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		if _, err := client.PostBatch(context.Background(), batch); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("sessions given:", src.given.Load())
	fmt.Println(batch.Integration) // a session is never printed
	// Output:
	// sessions given: 2
	// {Type:Salesforce SessionID:(from its source) ServerURL:}
}
