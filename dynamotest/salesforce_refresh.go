package dynamotest

import (
	"fmt"
	"net/http"
	"net/url"
)

// sfRefreshToken is a refresh token the fake handed out; every access holds
// Salesforce.mu.
type sfRefreshToken struct {
	clientID string
	username string
}

// IssueRefreshToken returns a new refresh token of the app for the user, as the
// web-server flow would hand out after the user approved the app. The token stays
// valid until it is used with an app that rotates refresh tokens. IssueRefreshToken
// panics if the app or the user is unknown.
func (sf *Salesforce) IssueRefreshToken(clientID, username string) string {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if _, ok := sf.apps[clientID]; !ok {
		panic(fmt.Sprintf("dynamotest: IssueRefreshToken: unknown app %q", clientID))
	}
	if _, ok := sf.users[username]; !ok {
		panic(fmt.Sprintf("dynamotest: IssueRefreshToken: unknown user %q", username))
	}
	return sf.newRefreshToken(clientID, username)
}

// newRefreshToken mints and stores a refresh token; sf.mu is held.
func (sf *Salesforce) newRefreshToken(clientID, username string) string {
	tok := "5Aep861" + randomToken(80)
	sf.refreshTokens[tok] = &sfRefreshToken{clientID: clientID, username: username}
	return tok
}

// refreshGrant handles grant_type=refresh_token: refresh_token and client_id, and the
// consumer secret when the app has one.
func (sf *Salesforce) refreshGrant(r *http.Request, form url.Values, rec *TokenRequest) grantResult {
	auth, refusal := readClientAuth(r, form)
	if refusal != nil {
		return grantResult{refusal: refusal}
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	app, refused := sf.clientApp(auth, rec, false)
	if refused != nil {
		return *refused
	}
	tok := form.Get("refresh_token")
	rt, ok := sf.refreshTokens[tok]
	if !ok || rt.clientID != app.ClientID {
		return refuse(errInvalidGrant, descBadRefreshToken)
	}
	rec.Username = rt.username
	res := sf.grantTo(app, rt.username)
	if res.refusal != nil {
		return res
	}
	if app.RotateRefreshTokens {
		delete(sf.refreshTokens, tok)
		res.refresh = sf.newRefreshToken(app.ClientID, rt.username)
	}
	return res
}
