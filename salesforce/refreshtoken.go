package salesforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
)

// RefreshTokenConfig is a refresh token from a connected app's web-server
// (or user-agent) flow, with the app's credentials. Formatting it with any
// fmt verb, logging it, or encoding it as JSON never shows the client
// secret or the refresh token.
type RefreshTokenConfig struct {
	// ClientID is the connected app's consumer key.
	ClientID string
	// ClientSecret is the consumer secret, where the app requires it for
	// a refresh; may be empty. A secret.
	ClientSecret string
	// RefreshToken is the refresh token. A secret.
	RefreshToken string
	// LoginURL is where the token is asked for: DefaultLoginURL when
	// empty, https://test.salesforce.com for a sandbox, or the org's My
	// Domain URL.
	LoginURL string
	// OnRotate, when set, is called with the new refresh token each time
	// the app rotates it (the old one then no longer works): keep it where
	// the program keeps its secrets, for the next run. It is called from
	// the goroutine that mints, before the session is handed out.
	OnRotate func(refreshToken string)
}

// RefreshToken returns a source whose sessions come from a refresh token
// (grant_type=refresh_token). When the app rotates refresh tokens, the
// rotated one in an answer replaces the one held, and the next session is
// asked for with it; it is kept in memory only, and handed to
// cfg.OnRotate for a program that must survive a restart. It
// fails when a field is missing or the login URL is not https (http only to
// a loopback host).
func RefreshToken(cfg RefreshTokenConfig, opts ...Option) (*Source, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, configErr(errors.New("salesforce: RefreshToken: no ClientID (the connected app's consumer key)"))
	case cfg.RefreshToken == "":
		return nil, configErr(errors.New("salesforce: RefreshToken: no RefreshToken"))
	}
	loginURL := cfg.LoginURL
	if loginURL == "" {
		loginURL = DefaultLoginURL
	}
	login, token, err := tokenURL("LoginURL", loginURL)
	if err != nil {
		return nil, err
	}
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: token, AuthStyle: oauth2.AuthStyleInParams},
	}
	rt := &refreshState{token: cfg.RefreshToken, first: cfg.RefreshToken}
	src := newSource("refresh token", login, o, func(ctx context.Context, hc *http.Client) (minted, error) {
		current := rt.get()
		tok, err := conf.TokenSource(withClient(ctx, hc), &oauth2.Token{RefreshToken: current}).Token()
		if err != nil {
			return minted{}, err
		}
		if tok.RefreshToken != "" && tok.RefreshToken != current {
			rt.set(tok.RefreshToken)
			if cfg.OnRotate != nil {
				cfg.OnRotate(tok.RefreshToken)
			}
		}
		return fromToken("refresh token", "", tok)
	})
	src.secrets = func() secrets { return secrets{cfg.ClientSecret, rt.first, rt.get()} }
	return src, nil
}

// refreshState is the refresh token a source holds, rotated or not.
type refreshState struct {
	mu    sync.Mutex
	token string
	first string
}

func (r *refreshState) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.token
}

func (r *refreshState) set(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.token = token
}

// String shows the config with the client secret and refresh token
// redacted.
func (c RefreshTokenConfig) String() string {
	return fmt.Sprintf("{ClientID:%s ClientSecret:%s RefreshToken:%s LoginURL:%s}", c.ClientID, redact(c.ClientSecret), redact(c.RefreshToken), c.LoginURL)
}

// GoString shows a Go-syntax form with the secrets redacted.
func (c RefreshTokenConfig) GoString() string {
	return fmt.Sprintf("salesforce.RefreshTokenConfig{ClientID:%q, ClientSecret:%q, RefreshToken:%q, LoginURL:%q}", c.ClientID, redact(c.ClientSecret), redact(c.RefreshToken), c.LoginURL)
}

// Format implements fmt.Formatter so that no verb shows a secret.
func (c RefreshTokenConfig) Format(f fmt.State, verb rune) {
	formatConfig(f, verb, c.String(), c.GoString())
}

// LogValue implements slog.LogValuer with the secrets redacted.
func (c RefreshTokenConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("clientID", c.ClientID), slog.String("clientSecret", redact(c.ClientSecret)),
		slog.String("refreshToken", redact(c.RefreshToken)), slog.String("loginURL", c.LoginURL))
}

// MarshalJSON fails with ErrSecretNotEncoded: the config holds secrets.
func (c RefreshTokenConfig) MarshalJSON() ([]byte, error) { return nil, ErrSecretNotEncoded }
