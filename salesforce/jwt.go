package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2/jwt"
)

// DefaultLoginURL is Salesforce's login host for production orgs; a
// sandbox's is https://test.salesforce.com, and an org's My Domain URL
// (https://<domain>.my.salesforce.com) serves both.
const DefaultLoginURL = "https://login.salesforce.com"

// jwtLifetime is how far ahead of now a JWT assertion expires: Salesforce
// accepts at most about 3 minutes.
const jwtLifetime = 2 * time.Minute

// JWTConfig is a connected app's OAuth 2.0 JWT bearer flow: a server mints
// sessions for a user pre-authorised for the app, with no person present.
// Formatting a JWTConfig with any fmt verb, logging it, or encoding it as
// JSON never shows its private key.
type JWTConfig struct {
	// ClientID is the connected app's consumer key (the assertion's iss).
	ClientID string
	// Username is the Salesforce username of the user the sessions are
	// for (the assertion's sub).
	Username string
	// PrivateKey is the RSA private key whose certificate the connected
	// app holds, PEM encoded, PKCS#1 ("RSA PRIVATE KEY") or PKCS#8
	// ("PRIVATE KEY"). A secret.
	PrivateKey []byte
	// LoginURL is where the token is asked for: DefaultLoginURL when
	// empty, https://test.salesforce.com for a sandbox, or the org's My
	// Domain URL.
	LoginURL string
	// Audience is the assertion's aud: LoginURL when empty. Salesforce's
	// rules differ between hosts: with a My Domain LoginURL, some orgs want
	// https://login.salesforce.com (or https://test.salesforce.com) here.
	Audience string
}

// JWTBearer returns a source whose sessions come from the OAuth 2.0 JWT
// bearer flow: an assertion signed with cfg.PrivateKey (RS256, iss the
// consumer key, sub the username, aud the audience, exp 2 minutes ahead, no
// scope) posted to the login URL's token endpoint. Salesforce gives no
// refresh token in this flow: each new session runs the flow again. It
// fails when a field is missing, the key is not an RSA private key, or the
// login URL is not https (http only to a loopback host).
func JWTBearer(cfg JWTConfig, opts ...Option) (*Source, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, configErr(errors.New("salesforce: JWTBearer: no ClientID (the connected app's consumer key)"))
	case cfg.Username == "":
		return nil, configErr(errors.New("salesforce: JWTBearer: no Username"))
	case len(cfg.PrivateKey) == 0:
		return nil, configErr(errors.New("salesforce: JWTBearer: no PrivateKey"))
	}
	if err := checkRSAKey(cfg.PrivateKey); err != nil {
		return nil, configErr(fmt.Errorf("salesforce: JWTBearer: PrivateKey: %w", err))
	}
	loginURL := cfg.LoginURL
	if loginURL == "" {
		loginURL = DefaultLoginURL
	}
	login, token, err := tokenURL("LoginURL", loginURL)
	if err != nil {
		return nil, err
	}
	audience := cfg.Audience
	if audience == "" {
		audience = login
	}
	conf := &jwt.Config{
		Email:      cfg.ClientID,
		Subject:    cfg.Username,
		PrivateKey: append([]byte(nil), cfg.PrivateKey...),
		TokenURL:   token,
		Audience:   audience,
		Expires:    jwtLifetime,
	}
	username := cfg.Username
	return newSource("JWT bearer", login, o, func(ctx context.Context, hc *http.Client) (minted, error) {
		// A new token source each time: the package's own would keep the
		// first token for ever, as Salesforce's answer has no expiry.
		tok, err := conf.TokenSource(withClient(ctx, hc)).Token()
		if err != nil {
			return minted{}, err
		}
		return fromToken("JWT bearer", username, tok)
	}), nil
}

// checkRSAKey reports whether key is a PEM RSA private key, PKCS#1 or
// PKCS#8, without saying anything of its content.
func checkRSAKey(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New("not PEM encoded")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil && k != nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("a %q block that is neither a PKCS#1 nor a PKCS#8 private key", block.Type)
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("a %T, not an RSA key", k)
	}
	return nil
}

// String shows the config with its private key redacted.
func (c JWTConfig) String() string {
	return fmt.Sprintf("{ClientID:%s Username:%s PrivateKey:%s LoginURL:%s Audience:%s}", c.ClientID, c.Username, redact(c.PrivateKey), c.LoginURL, c.Audience)
}

// GoString shows a Go-syntax form with the private key redacted.
func (c JWTConfig) GoString() string {
	return fmt.Sprintf("salesforce.JWTConfig{ClientID:%q, Username:%q, PrivateKey:%q, LoginURL:%q, Audience:%q}", c.ClientID, c.Username, redact(c.PrivateKey), c.LoginURL, c.Audience)
}

// Format implements fmt.Formatter so that no verb shows the private key.
func (c JWTConfig) Format(f fmt.State, verb rune) { formatConfig(f, verb, c.String(), c.GoString()) }

// LogValue implements slog.LogValuer with the private key redacted.
func (c JWTConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("clientID", c.ClientID), slog.String("username", c.Username),
		slog.String("privateKey", redact(c.PrivateKey)), slog.String("loginURL", c.LoginURL), slog.String("audience", c.Audience))
}

// MarshalJSON fails with ErrSecretNotEncoded: a config holds a secret.
func (c JWTConfig) MarshalJSON() ([]byte, error) { return nil, ErrSecretNotEncoded }

// ErrSecretNotEncoded is the error of encoding a config that holds a
// secret (a private key, a client secret, a refresh token) as JSON, rather
// than write the secret where a log or a store would keep it.
var ErrSecretNotEncoded = errors.New("salesforce: a config holds a secret and is not encoded as JSON")

// formatConfig writes a config (or a Source) for every fmt verb: %#v in Go
// syntax, the others plain, so that no verb can reach a field that holds a
// secret.
func formatConfig(f fmt.State, verb rune, plain, goSyntax string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, goSyntax)
	case verb == 'q':
		fmt.Fprintf(f, "%q", plain)
	default:
		fmt.Fprint(f, plain)
	}
}
