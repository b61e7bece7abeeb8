package dynamo_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// children are the programs the test binary runs instead of its tests when
// started again by a test as a child process, by the name in envChild.
var children = map[string]func() int{}

// envChild names the child program a test binary started by a test runs.
const envChild = "DYNAMO_TEST_CHILD"

// TestMain runs a child program when asked to, and otherwise the tests,
// failing the package when any test leaves a goroutine behind: a request, a
// body producer, a retry timer or an idle connection of a client that a test
// did not close.
func TestMain(m *testing.M) {
	if name := os.Getenv(envChild); name != "" {
		child, ok := children[name]
		if !ok {
			os.Stderr.WriteString("no child program " + name + "\n")
			os.Exit(2)
		}
		os.Exit(child())
	}
	goleak.VerifyTestMain(m)
}
