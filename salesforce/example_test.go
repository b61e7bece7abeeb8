package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

// A service posts batches with sessions it mints itself through a
// connected app's JWT bearer flow: the app's consumer key, a pre-authorised
// user, and the private key whose certificate the app holds. Here
// dynamotest's fakes stand in for Salesforce's login host and for Dynamo.
func ExampleJWTBearer() {
	// The connected app's key pair: in production, a PEM file made with
	// openssl, its certificate uploaded to the app.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	privateKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	login := dynamotest.NewSalesforce()
	defer login.Close()
	login.AddJWTApp("3MVG9example", &key.PublicKey)
	login.AddUser("integration@example.com")
	api := dynamotest.NewServer(dynamotest.WithSalesforce(login))
	defer api.Close()
	client := api.Client() // in production: dynamo.NewClient(orgID, apiKey)

	src, err := salesforce.JWTBearer(salesforce.JWTConfig{
		ClientID:   "3MVG9example", // the consumer key
		Username:   "integration@example.com",
		PrivateKey: privateKey,
		LoginURL:   login.URL, // in production: https://login.salesforce.com, or a My Domain URL
	})
	if err != nil {
		log.Fatal(err)
	}
	batch, err := dynamo.NewBatch("0691x000002AbCdQAK").
		WithIntegration(dynamo.SalesforceFrom(src)). // a session minted for each post
		AddTask(dynamo.NewTask("0015g00000A1AAA"), dynamo.NewTask("0015g00000A2AAA")).
		Build()
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if _, err := client.PostBatch(context.Background(), batch); err != nil {
			log.Fatal(err)
		}
	}
	id, err := src.Identity(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("session from:", id.Origin)
	fmt.Println("user:", id.Username)
	fmt.Println("org is the tenant:", id.OrgID[:15] == api.TenantID[:15])
	fmt.Println("batches posted:", len(api.Batches()))
	fmt.Println("token requests:", login.TokenRequests()) // the session is kept for 10 minutes
	// Output:
	// session from: JWT bearer
	// user: integration@example.com
	// org is the tenant: true
	// batches posted: 3
	// token requests: 1
}

// The dynamo tool's chain of sources, for a Go program: the variables say
// which source, and a missing one is named.
func ExampleFromLookup() {
	env := map[string]string{
		"DYNAMO_SF_CLIENT_ID": "3MVG9example",
		"DYNAMO_SF_USERNAME":  "integration@example.com",
	}
	_, err := salesforce.FromLookup(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	fmt.Println(err)
	// Output: salesforce: the JWT bearer flow needs DYNAMO_SF_JWT_KEY_FILE, which is not set
}
