package pgjournal

import "github.com/dynamokit/dynamo"

// BackendPID is the server process of the connection that holds j's job.
func BackendPID(j dynamo.Journal) uint32 { return j.(*journal).backendPID() }
