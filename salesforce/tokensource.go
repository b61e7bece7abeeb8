package salesforce

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// FromTokenSource returns a source whose sessions are the access tokens of
// ts, each with the instance URL that the token's extra fields hold
// ("instance_url", as in every Salesforce token answer; a token without one
// fails). ts is asked for a token whenever the session is older than the
// maximum age, and its answer is used as it is: give a source that mints a
// new token on each call, not an oauth2.ReuseTokenSource over a Salesforce
// flow, which keeps its first token for ever (Salesforce's answers carry no
// expiry). ts is called from one goroutine at a time.
//
// An invalid option makes every call of Session and Identity fail.
func FromTokenSource(ts oauth2.TokenSource, opts ...Option) *Source {
	o, err := applyOptions(opts)
	src := newSource("token source", "", o, func(context.Context, *http.Client) (minted, error) {
		tok, err := ts.Token()
		if err != nil {
			return minted{}, err
		}
		return fromToken("token source", "", tok)
	})
	src.optErr = err
	if ts == nil {
		src.optErr = configErr(errors.New("salesforce: FromTokenSource: nil oauth2.TokenSource"))
	}
	return src
}
