package dynamo

// LoseFileJournalHold closes the file of j, a journal that FileJournal
// opened, without Close: what the end of its process does to its lock.
func LoseFileJournalHold(j Journal) { _ = j.(*fileJournal).f.Close() }
