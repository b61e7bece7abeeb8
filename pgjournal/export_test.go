package pgjournal

import (
	"context"

	"github.com/dynamokit/dynamo"
)

// BackendPID is the server process of the connection that holds j's job.
func BackendPID(j dynamo.Journal) uint32 { return j.(*journal).backendPID() }

// Setting is the value of a run-time parameter on the connection that
// holds j's job.
func Setting(j dynamo.Journal, name string) (string, error) {
	jr := j.(*journal)
	jr.mu.Lock()
	defer jr.mu.Unlock()
	var v string
	err := jr.conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
