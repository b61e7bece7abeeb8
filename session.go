package dynamo

import "context"

// SessionSource gives the Salesforce sessions that posts carry. An
// Integration made by SalesforceFrom asks its source for a session once per
// post, before the request is built: PostBatch, PostBatchWithTemplate,
// PostTask, PostTaskWithTemplate, and every chunk of PostBulk. A source is
// called from the goroutine making the post, and from several goroutines at
// once by concurrent posts and by PostBulk: it must be safe for concurrent
// use. The package salesforce has sources for the OAuth flows and the
// Salesforce CLI.
type SessionSource interface {
	// Session returns a session fresh enough to post with. Its error stops
	// the post before anything is sent.
	Session(ctx context.Context) (Session, error)
}

// Session is a Salesforce session: its ID, a secret, and the server (the
// org's instance URL) it belongs to.
type Session struct {
	ID        string
	ServerURL string
}
