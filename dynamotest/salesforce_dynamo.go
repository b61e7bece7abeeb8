package dynamotest

import (
	"net/http"
	"time"
)

// msgOrgMismatch is the vendor's answer to a post whose session is of another org
// than the tenant.
const msgOrgMismatch = "Given organization id doesn't match given session id"

// invalidSession is how a task whose session had expired fails: the error code and
// message of Salesforce's REST answer to such a session.
const invalidSession = "INVALID_SESSION_ID: Session expired or invalid"

// WithSalesforce tells the server which fake login host issued the sessions its
// posts carry. A task posted with an integration then uses its session when it runs,
// as Dynamo uses it to read the record: a session that sf did not issue, or that had
// been unused for its timeout, fails the task, completed with errors, its status
// message and a SEVERE log entry saying "INVALID_SESSION_ID: Session expired or
// invalid"; a live session counts as used, which starts its inactivity timeout
// again. Without WithSalesforce, sessions are never judged. Give both fakes the same
// clock. WithSalesforce panics if sf is nil.
func WithSalesforce(sf *Salesforce) ServerOption {
	if sf == nil {
		panic("dynamotest: WithSalesforce: nil Salesforce")
	}
	return func(c *serverConfig) { c.salesforce = sf }
}

// taskSession is the session a posted task uses when it runs.
type taskSession struct {
	sf *Salesforce
	id string
}

// admitSession refuses a post whose session names another org than the tenant,
// when both name one (compared on the first 15 characters, as 18-character IDs only
// add a checksum); otherwise it returns the session the post's tasks will use, nil
// when the server judges no sessions.
func (s *Server) admitSession(integration map[string]any) (*taskSession, *reply) {
	id, _ := integration["sessionID"].(string)
	if org, ok := sessionOrg(id); ok && isOrgID(s.TenantID) && org != s.TenantID[:15] {
		return nil, errorReply(http.StatusForbidden, "%s", msgOrgMismatch)
	}
	if s.cfg.salesforce == nil || integration == nil {
		return nil, nil
	}
	return &taskSession{sf: s.cfg.salesforce, id: id}, nil
}

// admitBatch is admitSession for a batch: each of its tasks gets the session.
func (s *Server) admitBatch(b *batchState) *reply {
	session, rep := s.admitSession(b.integration)
	for _, t := range b.tasks {
		t.session = session
	}
	return rep
}

// admitSingle is admitSession for a Task API task.
func (s *Server) admitSingle(t *singleState) *reply {
	session, rep := s.admitSession(t.integration)
	t.session = session
	return rep
}

// sessionLost uses the task's session at the moment the task runs, if it has one
// to judge, and fails the task at that moment when the session was not live;
// Server.mu is held.
func (p *progress) sessionLost(at time.Time) bool {
	if p.session == nil || p.session.sf.useAt(p.session.id, at) {
		return false
	}
	p.driven = true
	p.stage = StageFailed
	p.startedAt, p.endedAt = at, at
	p.failure = invalidSession
	p.log = append(p.log, "SEVERE "+invalidSession)
	p.results = nil
	return true
}
