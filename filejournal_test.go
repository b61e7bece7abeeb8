package dynamo_test

import (
	"path/filepath"
	"testing"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/journaltest"
)

func TestFileJournalKeepsTheStoreContract(t *testing.T) {
	locksJournals(t)
	dir := t.TempDir()
	journaltest.TestStore(t,
		func(t *testing.T, job string) dynamo.JournalStore {
			return dynamo.FileJournal(filepath.Join(dir, job+".jsonl"))
		},
		journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) { dynamo.LoseFileJournalHold(j) }))
}
