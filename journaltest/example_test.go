package journaltest_test

import (
	"testing"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/journaltest"
)

// A store's package runs the suite in a test of its own: a constructor that
// makes a new store value for a job on the same storage each time, and,
// where the store can, a way to cut a held journal's connection. Here the
// storage is memory (see TestMemoryStore); a database store would return a
// store on the test's database, and end the connection that holds the lock.
func ExampleTestStore() {
	storage := new(memory)
	testStore := func(t *testing.T) { // func TestStore(t *testing.T) in the store's package
		journaltest.TestStore(t,
			func(t *testing.T, job string) dynamo.JournalStore { return memStore{storage, job} },
			journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) { j.(*memJournal).lose() }))
	}
	_ = testStore
}
