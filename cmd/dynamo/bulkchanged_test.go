package main

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// TestBulkFileChanged: a CSV file changed after it was checked, while it is
// posted, is refused from the first chunk that differs: the chunks before
// it are accepted, it and those after it are not posted, and the message
// says why.
func TestBulkFileChanged(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	content := records(20000)
	path := writeFile(t, "accounts.csv", content)
	// The last record gets another name of the same length, once the first
	// chunk arrives: the file is then being read for posting, its last
	// chunk not yet (the reading is at most a few chunks and a buffer
	// ahead of the posts, far from the last of 20).
	// It is written in place: a program appending to or rewriting the file
	// would change it under the reader the same way.
	at := int64(strings.Index(content, "Account 19999") + len("Account "))
	var once sync.Once
	f.setOnAccept(func(string) {
		once.Do(func() {
			file, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer file.Close()
			if _, err := file.WriteAt([]byte("99999"), at); err != nil {
				t.Error(err)
			}
		})
	})
	r := runWith(t, f.env, "bulk", "--template", "T", "--csv", path, "--no-wait")
	wantCode(t, r, exitFailed)
	wantContains(t, "stdout", r.stdout, "chunks: 19 accepted, 0 skipped (accepted by an earlier run), 0 failed, 0 unknown, 1 not started")
	wantContains(t, "stderr", r.stderr, path+" changed since it was checked", "records [19000, 20000)", "was not started")
	if n := posts(f.srv); n != 19 {
		t.Errorf("%d chunks posted, want 19", n)
	}
}
