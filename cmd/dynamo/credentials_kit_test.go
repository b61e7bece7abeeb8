package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// The connected apps and users of the fake login host.
const (
	jwtClientID  = "3MVG9jwtapp"
	jwtUsername  = "integration@example.com"
	ccClientID   = "3MVG9ccapp"
	ccSecret     = "cc-secret-5f1e0c0ffee9d1b2"
	ccRunAs      = "runas@example.com"
	fixedSession = "00D000000000001!fixed-session-7a3c9b0d4e"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	testKeyPEM  string
)

// rsaKey returns an RSA key made once for the package's tests, and its
// PKCS#8 PEM.
func rsaKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		testKey, testKeyPEM = k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	return testKey, testKeyPEM
}

// testSalesforce is a fake Salesforce login host with a JWT bearer app, a
// client credentials app and their users, and the tool's environment for
// each set of the credential chain.
type testSalesforce struct {
	sf      *dynamotest.Salesforce
	keyFile string
	keyPEM  string
}

// newSalesforce starts a fake login host for one test.
func newSalesforce(t *testing.T, opts ...dynamotest.SalesforceOption) *testSalesforce {
	t.Helper()
	key, keyPEM := rsaKey(t)
	sf := dynamotest.NewSalesforce(opts...)
	t.Cleanup(sf.Close)
	sf.AddJWTApp(jwtClientID, &key.PublicKey)
	sf.AddClientCredentialsApp(ccClientID, ccSecret, ccRunAs)
	sf.AddUser(jwtUsername, jwtClientID)
	sf.AddUser(ccRunAs, ccClientID)
	return &testSalesforce{sf: sf, keyFile: writeFile(t, "key.pem", keyPEM), keyPEM: keyPEM}
}

// set returns the variables of one set of the chain: "fixed", "jwt" or
// "cc".
func (s *testSalesforce) set(name string) map[string]string {
	switch name {
	case "fixed":
		return map[string]string{"DYNAMO_SF_SESSION_ID": fixedSession, "DYNAMO_SF_SERVER_URL": "https://acme.my.salesforce.com"}
	case "jwt":
		return map[string]string{"DYNAMO_SF_CLIENT_ID": jwtClientID, "DYNAMO_SF_USERNAME": jwtUsername,
			"DYNAMO_SF_JWT_KEY_FILE": s.keyFile, "DYNAMO_SF_LOGIN_URL": s.sf.URL}
	case "cc":
		return map[string]string{"DYNAMO_SF_CLIENT_ID": ccClientID, "DYNAMO_SF_CLIENT_SECRET": ccSecret, "DYNAMO_SF_LOGIN_URL": s.sf.URL}
	}
	panic("unknown set " + name)
}

// sessionLike matches what looks like a Salesforce session: an org ID and
// "!".
var sessionLike = regexp.MustCompile(`00D[0-9A-Za-z]{12}![^\s"]+`)

// secretScan collects a test's output and fails the test when it shows a
// secret: the private key, the client secret, or a session.
type secretScan struct {
	mu  sync.Mutex
	out strings.Builder
}

func (s *secretScan) add(r result) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.WriteString(r.stdout)
	s.out.WriteString(r.stderr)
	return r
}

// check fails t if the output shows a secret: the key PEM (any line of its
// body), the client secret, anything like a session, or one of sessions.
func (s *secretScan) check(t *testing.T, keyPEM string, sessions ...string) {
	t.Helper()
	s.mu.Lock()
	all := s.out.String()
	s.mu.Unlock()
	if all == "" {
		t.Fatal("the secret scan saw no output")
	}
	secrets := append([]string{ccSecret, fixedSession}, sessions...)
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(all, secret) {
			t.Errorf("the output shows the secret %q", secret)
		}
	}
	if m := sessionLike.FindString(all); m != "" {
		t.Errorf("the output shows something like a session: %q", m)
	}
}
