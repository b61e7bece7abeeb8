package salesforce

import (
	"fmt"

	"github.com/dynamokit/dynamo"
)

// Fixed returns a source that gives session every time: no maximum age, no
// renewal. It is what DYNAMO_SF_SESSION_ID and DYNAMO_SF_SERVER_URL make;
// its Identity names the org that the session begins with. It fails when
// either field is empty.
func Fixed(session dynamo.Session, opts ...Option) (*Source, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if session.ID == "" || session.ServerURL == "" {
		return nil, configErr(fmt.Errorf("salesforce: Fixed: a session needs both an ID and a server URL"))
	}
	src := newSource("fixed session", "", o, nil)
	src.fixed = &minted{session: session, identity: Identity{Origin: "fixed session", OrgID: sessionOrg(session.ID), InstanceURL: session.ServerURL}}
	return src, nil
}
