package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun runs the whole benchmark with tiny settings: it checks that the
// program works and prints its tables, not how fast either client is.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{
		"-rounds", "2", "-round-time", "2ms",
		"-bulk-records", "1000,2000", "-bulk-rounds", "1",
		"-statuses-tasks", "20", "-statuses-rounds", "1",
	}, &out, &out)
	t.Logf("output:\n%s", out.String())
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	want := []string{"wire check: PASS", "PostBulk/1000", "PostBulk/2000", "BatchTaskStatuses/20", "SDK peak heap per record", "targets: "}
	want = append(want, callCaseNames...)
	for _, s := range want {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func TestProfile(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	code := run([]string{
		"-profile-case", "PostBatch/1000", "-profile-time", "20ms",
		"-cpuprofile", filepath.Join(dir, "cpu"), "-memprofile", filepath.Join(dir, "mem"),
	}, &out, &out)
	if code != 0 || !strings.Contains(out.String(), "profiled PostBatch/1000") {
		t.Fatalf("exit code %d, output:\n%s", code, out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-run", "everything"},
		{"-cases", "GetBatches"},
		{"-bulk-records", "1500"},
		{"-bulk-records", "20000,10000"},
		{"-rounds", "0"},
		{"-cpuprofile", "x"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("%q: exit code %d, want 2", args, code)
		}
	}
}

func TestSalesforceID(t *testing.T) {
	// The suffix encodes which of the first 15 characters are upper case.
	for n, want := range map[int]string{
		1:  "a0B5g0000000001EAA",
		62: "a0B5g0000000010EAA",
	} {
		if got := salesforceID("a0B", n); got != want {
			t.Errorf("salesforceID(a0B, %d) = %s, want %s", n, got, want)
		}
	}
	if a, b := salesforceID("001", 7), salesforceID("001", 8); a == b || len(a) != 18 {
		t.Errorf("IDs %s and %s", a, b)
	}
}
