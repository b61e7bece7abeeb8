package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the sink, the launcher and the clients,
// which the benchmark starts by running its own executable again.
func TestMain(m *testing.M) {
	if isChildArgs(os.Args[1:]) {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark on a 1 MiB template, one round.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if os.Getenv("GORACE") == "" {
		// A binary built with -race sleeps a second at exit by default;
		// the children are four of them.
		t.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	var out bytes.Buffer
	began := time.Now()
	code := run([]string{"-size", "1MiB", "-compare-size", "256KiB", "-rounds", "1", "-warmup", "0", "-timeout", "30s"}, &out, &out)
	t.Logf("took %v; output:\n%s", time.Since(began), out.String())
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{
		"A net/http 1 MiB", "B SDK 1 MiB", "B SDK 256 KiB",
		"PASS  sink: every body right",
		"B/A (ratio of medians)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "FAILED") {
		t.Error("a trial failed")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1":       1,
		"4096":    4096,
		"64MiB":   64 << 20,
		"1GiB":    1 << 30,
		"1 GiB":   1 << 30,
		"2gib":    2 << 30,
		"10KiB":   10 << 10,
		"3MB":     3e6,
		"512B":    512,
		"1G":      1 << 30,
		" 7 mib ": 7 << 20,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "1.5GiB", "-1", "1 parsec", "99999999999TiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestBaselineFraming checks that the hand-written body parses as the
// multipart form the API expects.
func TestBaselineFraming(t *testing.T) {
	const boundary = "0123456789abcdef"
	content := bytes.Repeat([]byte("dap\r\n--not-a-boundary\r\n"), 1000)
	head, tail := baselineFraming(boundary, `a "quoted" name.dap`, dataJSON)
	body := io.MultiReader(bytes.NewReader(head), bytes.NewReader(content), bytes.NewReader(tail))
	mr := multipart.NewReader(body, boundary)

	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if p.FormName() != "template" || p.FileName() != `a "quoted" name.dap` || p.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("template part: name %q, file name %q, header %v", p.FormName(), p.FileName(), p.Header)
	}
	if got, _ := io.ReadAll(p); !bytes.Equal(got, content) {
		t.Errorf("template content: %d bytes, want %d", len(got), len(content))
	}
	p, err = mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	n, err := countTasks(p)
	if p.FormName() != "data" || p.Header.Get("Content-Type") != "application/json" || n != 1 || err != nil {
		t.Errorf("data part: name %q, header %v, %d tasks, %v", p.FormName(), p.Header, n, err)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the data part: %v, want io.EOF", err)
	}
}
