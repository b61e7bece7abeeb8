package dynamo_test

import (
	"path/filepath"
	"testing"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/journaltest"
)

// TestFileJournalConformance runs the journal stores' conformance suite on
// the file journal. A lost hold is a process that died, which no Append
// outlives, so the suite's subtests of a lost hold do not apply; the
// process tests show the lock released when a process is killed.
func TestFileJournalConformance(t *testing.T) {
	locksJournals(t)
	dir := t.TempDir()
	journaltest.TestStore(t, func(t *testing.T, job string) dynamo.JournalStore {
		return dynamo.FileJournal(filepath.Join(dir, job+".jsonl"))
	})
}
