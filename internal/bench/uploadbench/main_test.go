package main

import (
	"bytes"
	"context"
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

// startsChildren skips t in short mode, and keeps children built with -race
// from sleeping a second at exit, as they do by default.
func startsChildren(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if os.Getenv("GORACE") == "" {
		t.Setenv("GORACE", "atexit_sleep_ms=0")
	}
}

// TestSmoke runs the whole benchmark on a 1 MiB template, one round.
func TestSmoke(t *testing.T) {
	startsChildren(t)
	var out bytes.Buffer
	began := time.Now()
	code := run([]string{"-size", "1MiB", "-compare-size", "256KiB", "-rounds", "1", "-warmup", "0", "-timeout", "30s"}, &out, &out)
	t.Logf("took %v; output:\n%s", time.Since(began), out.String())
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{
		"A net/http 1 MiB", "B SDK 1 MiB", "B SDK 256 KiB",
		"PASS  sink: every request right",
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

// TestTLS runs one round over each TLS mode on a tiny template and checks
// that the sink saw every request arrive as asked.
func TestTLS(t *testing.T) {
	startsChildren(t)
	for _, tc := range []struct {
		p    proto
		wire string // as the sink saw the request
		alpn string
	}{
		{protoH1TLS, "HTTP/1.1", `ALPN "http/1.1"`},
		{protoH2, "HTTP/2.0", `ALPN "h2"`},
	} {
		t.Run(string(tc.p), func(t *testing.T) {
			var out bytes.Buffer
			w := &lockedWriter{w: &out} // the children's output is copied in by goroutines of their own
			o := &options{size: 64 << 10, rounds: 1, timeout: 30 * time.Second, protos: protoList{tc.p}}
			b := &bench{o: o, out: w, errw: w}
			err := b.run(context.Background())
			t.Logf("output:\n%s", out.String())
			if err != nil || b.failed > 0 {
				t.Fatalf("run: %v, %d trials failed", err, b.failed)
			}
			if len(b.trials) != 2 {
				t.Fatalf("%d trials measured, want 2", len(b.trials))
			}
			for _, tr := range b.trials {
				rec := tr.rec
				if rec.Listener != string(tc.p) || rec.Proto != tc.wire || !strings.HasPrefix(rec.TLS, "TLS 1.3 ") || !strings.HasSuffix(rec.TLS, tc.alpn) {
					t.Errorf("client %s: the sink saw %s on %q over %q, want %s over TLS 1.3 with %s", tr.mode, rec.Proto, rec.Listener, rec.TLS, tc.wire, tc.alpn)
				}
				if len(tr.problems) > 0 {
					t.Errorf("client %s: %v", tr.mode, tr.problems)
				}
			}
			if want := tc.wire + " over TLS 1.3"; !strings.Contains(out.String(), want) {
				t.Errorf("the report does not say %q", want)
			}
		})
	}
}

// TestCheckRecordProtocol checks that a request which arrived other than as
// its variant asks is reported.
func TestCheckRecordProtocol(t *testing.T) {
	tf := &templateFile{path: "/t/template.dap", size: 3, crc: 7}
	good := sinkRecord{
		Listener: "h2", Proto: "HTTP/2.0", TLS: `TLS 1.3 TLS_AES_128_GCM_SHA256 ALPN "h2"`,
		FirstByte: 1, Bytes: 10, ContentLength: 10, Parts: 2, Tasks: 1, Status: 202,
		TemplateName: "template.dap", TemplateType: "application/octet-stream", TemplateBytes: 3, TemplateCRC: 7,
	}
	h2 := variant{proto: protoH2}
	for _, tc := range []struct {
		name   string
		v      variant
		change func(*sinkRecord)
		wrong  bool
	}{
		{"as asked", h2, func(*sinkRecord) {}, false},
		{"fell back to HTTP/1.1", h2, func(r *sinkRecord) { r.Proto = "HTTP/1.1" }, true},
		{"other listener", h2, func(r *sinkRecord) { r.Listener = "h2*" }, true},
		{"tuned as asked", variant{proto: protoH2, tuned: true}, func(r *sinkRecord) { r.Listener = "h2*" }, false},
		{"without TLS", h2, func(r *sinkRecord) { r.TLS = "" }, true},
		{"TLS on plain", variant{proto: protoHTTP}, func(r *sinkRecord) { r.Listener, r.Proto = "http", "HTTP/1.1" }, true},
		{"plain as asked", variant{proto: protoHTTP}, func(r *sinkRecord) { r.Listener, r.Proto, r.TLS = "http", "HTTP/1.1", "" }, false},
	} {
		rec := good
		tc.change(&rec)
		if p := checkRecord(&rec, tc.v, tf); (len(p) > 0) != tc.wrong {
			t.Errorf("%s: problems %q, want some: %t", tc.name, p, tc.wrong)
		}
	}
}

func TestFlagValues(t *testing.T) {
	var l protoList
	if err := l.Set("http, H2,h1tls"); err != nil || l.String() != "http,h2,h1tls" {
		t.Errorf("protoList.Set: %v, %q", err, l.String())
	}
	for _, bad := range []string{"", "h3", "h2,h2"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("protoList.Set(%q) succeeded", bad)
		}
	}
	var tu tuning
	const spec = "expect-continue,write-buffer=64KiB,read-size=16375,h2-stream-window=4MiB,h2-conn-window=4MiB,h2-frame-size=16KiB"
	if err := tu.Set(spec); err != nil || tu.String() != spec {
		t.Errorf("tuning.Set: %v, %q", err, tu.String())
	}
	if !tu.sinkSide() || !tu.affects(protoHTTP) {
		t.Errorf("%v: sink side %t, affects http %t", spec, tu.sinkSide(), tu.affects(protoHTTP))
	}
	for _, bad := range []string{"window=1", "read-size", "read-size=0", "read-size=2GiB", "expect-continue=1"} {
		if err := tu.Set(bad); err == nil {
			t.Errorf("tuning.Set(%q) succeeded", bad)
		}
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
