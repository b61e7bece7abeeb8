// Package journaltest checks that a dynamo.JournalStore keeps the contract
// that PostBulk relies on, as testing/fstest checks a file system: a store
// written for another database runs TestStore in its own tests and learns
// whether PostBulk can trust it.
//
// A store's test gives TestStore a function that returns a new store value
// for a job each time it is called, standing in for another process or
// another machine pointed at the same storage, and, where the store can
// simulate it, a way to make a held journal lose its hold as a process that
// dies or a connection that is cut would:
//
//	func TestConformance(t *testing.T) {
//		db := openTestDatabase(t)
//		journaltest.TestStore(t,
//			func(t *testing.T, job string) dynamo.JournalStore { return mystore.New(db, job) },
//			journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) { mystore.CutConnection(t, j) }))
//	}
//
// TestStore gives every subtest jobs of its own, named for it with a random
// suffix, so a store that keeps its data between test runs needs no cleanup.
//
// # What a store must refuse
//
// A store keeps opaque lines: PostBulk writes one JSON value per line and
// parses what it reads back itself. A store must return each line byte for
// byte, and must refuse, with an error and without writing anything, an
// Append of:
//   - a line that contains a newline byte ('\n'), which a store that keeps
//     lines in a file would split into two;
//   - a line that is not exactly one JSON value (encoding/json's Valid): the
//     empty line, a line cut short, two values, raw control characters.
//
// A refused line does not cost the run its hold: the next valid Append
// succeeds. Any other line that PostBulk may write (valid JSON in UTF-8
// without a newline, up to a few hundred kilobytes) must be kept; a store
// may refuse what PostBulk never writes, such as a line that is not UTF-8.
package journaltest
