package dynamo_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind: a
// request, a body producer, a retry timer or an idle connection of a client
// that a test did not close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
