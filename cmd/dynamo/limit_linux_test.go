//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// envFileSizeLimit, in the tool's environment, limits the size of the files
// it writes, so that writing its journal fails.
const envFileSizeLimit = "DYNAMO_TEST_FILE_SIZE_LIMIT"

// limitFileSize applies envFileSizeLimit to the process.
func limitFileSize() {
	v := os.Getenv(envFileSizeLimit)
	if v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		panic(err)
	}
	// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		panic(err)
	}
}

// A journal that cannot be written stops the job: the message lists every
// chunk it does not record, with its batch, and what the next run does.
func TestProcessJournalWriteFails(t *testing.T) {
	j := newBulkJob(t)
	env := map[string]string{envFileSizeLimit: "400"} // room for one line of the journal
	for k, v := range j.f.env {
		env[k] = v
	}
	r := startTool(t, env, append(j.args, "--no-wait")...).wait(t)
	wantCode(t, r, exitFailed)
	batches := j.f.srv.Batches()
	if len(batches) != 1 {
		t.Fatalf("%d batches posted, want 1: no chunk starts once the journal fails\n%s", len(batches), r)
	}
	// Two chunks start at once, and either may be the one whose posting
	// line fits: the posted one is the one the fake holds.
	first := 0
	for first < 10 && batches[0].Tasks[0].Params["id"] != recordID(first) {
		first += 2
	}
	wantContains(t, "stderr", r.stderr, "could not be written", "so no further chunk was started",
		"1 chunk posted by this run is not recorded in the journal",
		fmt.Sprintf("chunk %d (records [%d, %d), IDs %s to %s): accepted as batch %s", first/2, first, first+2, recordID(first), recordID(first+1), batches[0].ID),
		"reads each of them as of unknown outcome and does not post it again", "--repost-unknown would post their records a second time")
	if strings.Contains(r.stderr, "WithRepostUnknown") {
		t.Errorf("the message names the SDK's option:\n%s", r.stderr)
	}

	_, rep := j.rerun(t, exitFailed)
	wantCounts(t, rep, map[string]int{"unknown": 1, "accepted": 4})
	wantEachOnce(t, j.f.srv, 10)
}
