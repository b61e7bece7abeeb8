// Package salesforce gives Salesforce sessions to the dynamo SDK without a
// person logged in: a *Source implements dynamo.SessionSource, and
// dynamo.SalesforceFrom(src) makes an Integration that asks it for a
// session as each post is made.
//
// The sources:
//
//   - JWTBearer: a connected app's consumer key, a pre-authorised user's
//     username and the RSA private key whose certificate the app holds
//     (the OAuth 2.0 JWT bearer flow), for services;
//   - ClientCredentials: a connected app's consumer key and secret against
//     the org's My Domain (the client credentials flow), the sessions of the
//     app's "run as" user;
//   - RefreshToken: a refresh token from the web-server flow;
//   - CLI: an org authorised in the Salesforce CLI (sf), for developers;
//   - FromTokenSource: any golang.org/x/oauth2 TokenSource;
//   - Fixed: a session given as it is;
//   - FromEnv and FromLookup: one of the above, named by environment
//     variables, as the dynamo tool reads them (see FromLookup for the
//     variables and their order).
//
// Salesforce's token answers carry no expiry, and a session ends after an
// inactivity timeout an org's admin sets (2 hours by default). A Source
// therefore keeps a session for a maximum age (10 minutes unless
// WithMaxAge says otherwise) and then mints a new one; concurrent callers
// share one mint. The credentials (private keys, client secrets, refresh
// tokens, access tokens) never appear in an error of this package, nor in
// any printed or logged value of its types.
//
// A configuration the package cannot use (a config without a required
// field, a private key that does not parse, a login URL over plain http, an
// option's value, an incomplete set of environment variables) is an error
// matching dynamo.ErrInvalidConfig, as the SDK's own configuration errors
// are, returned before any token request. A token endpoint's refusal is a
// *TokenError.
package salesforce
