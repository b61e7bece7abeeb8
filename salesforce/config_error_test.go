package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/salesforce"
)

// TestConfigErrorsMatchErrInvalidConfig: what a program must fix in its
// configuration matches dynamo.ErrInvalidConfig, as the SDK's own
// configuration errors do, before any token request.
func TestConfigErrorsMatchErrInvalidConfig(t *testing.T) {
	t.Parallel()
	key := testKey().pkcs1
	for name, build := range map[string]func() error{
		"JWT bearer without client ID": func() error {
			_, err := salesforce.JWTBearer(salesforce.JWTConfig{Username: testUsername, PrivateKey: key})
			return err
		},
		"JWT bearer with a key that is not PEM": func() error {
			_, err := salesforce.JWTBearer(salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: []byte("not a key")})
			return err
		},
		"JWT bearer over plain http": func() error {
			_, err := salesforce.JWTBearer(salesforce.JWTConfig{ClientID: testClientID, Username: testUsername, PrivateKey: key, LoginURL: "http://login.example.com"})
			return err
		},
		"client credentials without secret": func() error {
			_, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: testClientID, LoginURL: "https://example.my.salesforce.com"})
			return err
		},
		"refresh token without token": func() error {
			_, err := salesforce.RefreshToken(salesforce.RefreshTokenConfig{ClientID: testClientID, LoginURL: "https://login.salesforce.com"})
			return err
		},
		"CLI without org": func() error {
			_, err := salesforce.CLI("")
			return err
		},
		"fixed without server": func() error {
			_, err := salesforce.Fixed(dynamo.Session{ID: testOrg + "!x"})
			return err
		},
		"WithMaxAge not positive": func() error {
			_, err := salesforce.CLI("my-org", salesforce.WithMaxAge(0))
			return err
		},
		"WithHTTPClient nil": func() error {
			_, err := salesforce.CLI("my-org", salesforce.WithHTTPClient(nil))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := build()
			require.Error(t, err)
			assert.ErrorIs(t, err, dynamo.ErrInvalidConfig)
			assert.NotErrorIs(t, err, salesforce.ErrNoCredentials)
		})
	}
}
