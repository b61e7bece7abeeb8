package dynamotest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// A JWT bearer token request, made with the standard library alone, against the fake
// login host: a connected app with an RSA key, a pre-authorised user, and an
// assertion that expires within Salesforce's 3 minutes.
func ExampleNewSalesforce() {
	sf := dynamotest.NewSalesforce()
	defer sf.Close()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	sf.AddJWTApp("3MVG9example", &key.PublicKey)
	sf.AddUser("integration@example.com")

	// The assertion: header and claims in base64url, signed RS256.
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := b64(map[string]string{"alg": "RS256"}) + "." + b64(map[string]any{
		"iss": "3MVG9example",            // the consumer key
		"sub": "integration@example.com", // the username
		"aud": sf.URL,                    // the fake's own URL, as for a My Domain host
		"exp": time.Now().Add(2 * time.Minute).Unix(),
	})
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	assertion := signed + "." + base64.RawURLEncoding.EncodeToString(sig)

	resp, err := http.PostForm(sf.TokenURL(), url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	})
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var answer map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		panic(err)
	}
	fmt.Println(resp.Status)
	fmt.Println("session of the org:", strings.HasPrefix(answer["access_token"], sf.OrgID[:15]+"!"))
	fmt.Println("instance URL:", answer["instance_url"] == sf.URL)
	fmt.Println("token type:", answer["token_type"])
	_, hasExpiry := answer["expires_in"]
	fmt.Println("expires_in:", hasExpiry)
	fmt.Println("token requests:", sf.TokenRequests())
	// Output:
	// 200 OK
	// session of the org: true
	// instance URL: true
	// token type: Bearer
	// expires_in: false
	// token requests: 1
}

// A session that goes unused for longer than its timeout between posting and running:
// the task fails as Dynamo's would, with Salesforce's INVALID_SESSION_ID in its log.
func ExampleWithSalesforce() {
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	sf := dynamotest.NewSalesforce(dynamotest.WithSalesforceClock(clock),
		dynamotest.WithInstanceURL("https://acme.my.salesforce.com"))
	defer sf.Close()
	sf.AddUser("integration@example.com")
	sf.AddClientCredentialsApp("3MVG9example", "consumer-secret", "integration@example.com")
	srv := dynamotest.NewServer(dynamotest.WithClock(clock), dynamotest.WithSalesforce(sf))
	defer srv.Close()

	resp, err := http.PostForm(sf.TokenURL(), url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"3MVG9example"},
		"client_secret": {"consumer-secret"},
	})
	if err != nil {
		panic(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	client := srv.Client()
	posted, err := client.PostBatch(ctx, &dynamo.Batch{
		Template:    "3242374783",
		Integration: dynamo.Salesforce(token.AccessToken, token.InstanceURL),
		Tasks:       []dynamo.Task{{Params: dynamo.Params{"id": "0015g00000AbCdE"}}},
	})
	if err != nil {
		panic(err)
	}

	mu.Lock()
	now = now.Add(3 * time.Hour) // the session times out after 2 hours unused
	mu.Unlock()
	srv.StartBatchTask(posted.ID, posted.TaskIDs[0])

	status, err := client.GetBatchTaskStatus(ctx, posted.ID, posted.TaskIDs[0])
	if err != nil {
		panic(err)
	}
	fmt.Println("errors:", status.Errors)
	fmt.Println(status.Log[0])
	// Output:
	// errors: true
	// SEVERE INVALID_SESSION_ID: Session expired or invalid
}
