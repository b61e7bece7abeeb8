package salesforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentialsConfig is a connected app's OAuth 2.0 client credentials
// flow, whose sessions are those of the app's "run as" integration user.
// Formatting it with any fmt verb, logging it, or encoding it as JSON never
// shows its client secret.
type ClientCredentialsConfig struct {
	// ClientID is the connected app's consumer key.
	ClientID string
	// ClientSecret is the connected app's consumer secret. A secret.
	ClientSecret string
	// LoginURL is the org's My Domain URL
	// (https://<domain>.my.salesforce.com): the flow is not served by
	// login.salesforce.com or test.salesforce.com.
	LoginURL string
}

// ClientCredentials returns a source whose sessions come from the OAuth 2.0
// client credentials flow: the consumer key and secret posted (in the form)
// to the My Domain's token endpoint. It fails when a field is missing or
// the login URL is not https (http only to a loopback host).
func ClientCredentials(cfg ClientCredentialsConfig, opts ...Option) (*Source, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, configErr(errors.New("salesforce: ClientCredentials: no ClientID (the connected app's consumer key)"))
	case cfg.ClientSecret == "":
		return nil, configErr(errors.New("salesforce: ClientCredentials: no ClientSecret"))
	case cfg.LoginURL == "":
		return nil, configErr(errors.New("salesforce: ClientCredentials: no LoginURL (the org's My Domain URL)"))
	}
	login, token, err := tokenURL("LoginURL", cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	conf := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     token,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	src := newSource("client credentials", login, o, func(ctx context.Context, hc *http.Client) (minted, error) {
		tok, err := conf.Token(withClient(ctx, hc))
		if err != nil {
			return minted{}, err
		}
		return fromToken("client credentials", "", tok)
	})
	src.secrets = func() secrets { return secrets{cfg.ClientSecret} }
	return src, nil
}

// String shows the config with its client secret redacted.
func (c ClientCredentialsConfig) String() string {
	return fmt.Sprintf("{ClientID:%s ClientSecret:%s LoginURL:%s}", c.ClientID, redact(c.ClientSecret), c.LoginURL)
}

// GoString shows a Go-syntax form with the client secret redacted.
func (c ClientCredentialsConfig) GoString() string {
	return fmt.Sprintf("salesforce.ClientCredentialsConfig{ClientID:%q, ClientSecret:%q, LoginURL:%q}", c.ClientID, redact(c.ClientSecret), c.LoginURL)
}

// Format implements fmt.Formatter so that no verb shows the client secret.
func (c ClientCredentialsConfig) Format(f fmt.State, verb rune) {
	formatConfig(f, verb, c.String(), c.GoString())
}

// LogValue implements slog.LogValuer with the client secret redacted.
func (c ClientCredentialsConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("clientID", c.ClientID), slog.String("clientSecret", redact(c.ClientSecret)), slog.String("loginURL", c.LoginURL))
}

// MarshalJSON fails with ErrSecretNotEncoded: the config holds a secret.
func (c ClientCredentialsConfig) MarshalJSON() ([]byte, error) { return nil, ErrSecretNotEncoded }
