// Command uploadbench measures what posting a batch with a large embedded
// template costs through the SDK (PostBatchWithTemplate with
// TemplateFromFile), next to a hand-written net/http client that sends the
// same multipart body as an io.MultiReader with an exact Content-Length.
//
//	go run ./internal/bench/uploadbench -size 1GiB -compare-size 64MiB -rounds 5
//
// It writes a template file of the given size, starts a sink server in a
// child process of its own, and then runs every client trial in a child
// process of its own too, so that each trial's CPU time and peak RSS are
// those of the client alone. Rounds alternate the order of the two clients
// (A then B, then B then A, …). The sink parses every body as
// multipart/form-data while it streams in, checks it (headers, declared
// length against bytes read, the template's size and CRC-32, the one task)
// and answers as the API does.
//
// It prints per client the median wall time, the median CPU time, the
// largest peak RSS, the median first-byte latency (the sink's first body
// byte minus the client's start) and the throughput, the ratios of the SDK
// to the baseline, and a PASS or FAIL line per target. The exit code is 0
// whatever the targets give, 1 when a trial could not be measured and 2 for
// bad flags.
//
// With -proto the clients reach the sink over TLS, as every real call does:
// h1tls is HTTP/1.1 over TLS and h2 is HTTP/2 over TLS (ALPN h2); several
// protocols, separated by commas, are measured in one run, round by round.
// The sink makes a self-signed certificate at start and hands it to the
// clients in a file; both clients trust it alone and share one transport
// configuration per protocol. The sink records the protocol, TLS version and
// cipher suite each request arrived with, and the check fails on a request
// that did not come as asked. The report gives, per protocol, the SDK's
// ratios to the baseline, and the baseline's throughput on each protocol
// relative to the first.
//
//	go run ./internal/bench/uploadbench -size 1GiB -rounds 5 -proto http,h1tls,h2
//
// With -tune key=size,… every round also runs both clients with those
// settings, and the report gives each against the untuned baseline of the
// same protocol, measured in the same run. The clients' settings are
// write-buffer (http.Transport.WriteBufferSize), read-size (the largest
// Read the body is asked for) and expect-continue (the request waits for
// the server's 100 Continue before its body); the sink's, for HTTP/2 only,
// are h2-stream-window and h2-conn-window (the flow-control windows it
// grants) and h2-frame-size (the largest DATA frame it accepts).
//
// With -profile-dir DIR every client trial also writes a CPU profile and a
// heap profile there, and the sink a CPU profile of its side of each trial
// (sink-….cpu.pprof), to read with go tool pprof.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags, of the benchmark and of the child modes.
type options struct {
	size        int64
	sizeSet     bool // -size was given
	compareSize int64
	rounds      int
	warmup      int
	file        string
	keepFile    bool
	timeout     time.Duration
	profileDir  string
	protos      protoList // of the benchmark and the sink; a client trial's one
	tune        tuning
	certFile    string // the sink's certificate in PEM, written by the sink

	// Child modes, started by the benchmark itself.
	sink       bool
	spawner    bool
	client     string // "A" or "B"
	url        string
	tag        string
	cpuProfile string
	memProfile string
}

// hiddenFlags are the flags of the child modes, left out of the usage text.
var hiddenFlags = map[string]bool{
	"sink": true, "spawner": true, "client": true, "url": true, "tag": true, "cpuprofile": true, "memprofile": true, "cert": true,
}

// isChildArgs reports whether args start a child mode (the sink or a client).
func isChildArgs(args []string) bool {
	if len(args) == 0 {
		return false
	}
	a := strings.TrimLeft(args[0], "-")
	return a == "sink" || a == "spawner" || strings.HasPrefix(a, "client")
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	o := options{size: 1 << 30, protos: protoList{protoHTTP}}
	fs := flag.NewFlagSet("uploadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*sizeValue)(&o.size), "size", "template `size`: plain bytes or with a unit (KiB, MiB, GiB, KB, MB, GB)")
	fs.Var((*sizeValue)(&o.compareSize), "compare-size", "also run the SDK with a template of this `size`, and check that its peak RSS does not depend on the size")
	fs.IntVar(&o.rounds, "rounds", 5, "measured rounds; each runs both clients, in alternating order")
	fs.IntVar(&o.warmup, "warmup", 1, "unmeasured rounds before the measured ones")
	fs.StringVar(&o.file, "file", "", "use the template file at `path`; it is created with -size if missing, and never removed")
	fs.BoolVar(&o.keepFile, "keep-file", false, "keep the generated template files and print their paths")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "time limit of each client trial")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write a CPU and a heap profile of every client trial, and a CPU profile of the sink for each, into `dir`")
	fs.Var(&o.protos, "proto", "`protocols` to measure, separated by commas: http (HTTP/1.1, plain), h1tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS)")
	fs.Var(&o.tune, "tune", "also run both clients with these `settings` (key=size,…) and report them against the defaults: "+
		"write-buffer, read-size and expect-continue (no size) for the clients, h2-stream-window, h2-conn-window and h2-frame-size for the sink's HTTP/2")
	fs.StringVar(&o.certFile, "cert", "", "the sink's certificate file, in PEM")
	fs.BoolVar(&o.sink, "sink", false, "run as the sink server")
	fs.BoolVar(&o.spawner, "spawner", false, "run as the launcher of client trials")
	fs.StringVar(&o.client, "client", "", "run one client trial: A (net/http) or B (SDK)")
	fs.StringVar(&o.url, "url", "", "the sink's base URL, for a client trial")
	fs.StringVar(&o.tag, "tag", "", "the trial's tag, sent in the User-Agent, for a client trial")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the CPU profile of a client trial to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile at the end of a client trial to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: uploadbench [-size 1GiB] [-compare-size 64MiB] [-rounds 5] [flags]\n\n")
		fmt.Fprintf(fs.Output(), "Compares posting a batch with an embedded template through the SDK with a\nhand-written net/http client, each trial in a process of its own.\n\nflags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if hiddenFlags[f.Name] {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			if name != "" {
				name = " " + name
			}
			fmt.Fprintf(fs.Output(), "  -%s%s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(fs.Output(), " (default %s)", f.DefValue)
			}
			fmt.Fprintln(fs.Output())
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "uploadbench: unexpected arguments: %q\n", fs.Args())
		return 2
	}
	fs.Visit(func(f *flag.Flag) { o.sizeSet = o.sizeSet || f.Name == "size" })

	switch {
	case o.sink:
		return runSink(&o, stdout, stderr)
	case o.spawner:
		return runSpawner(os.Stdin, stdout, stderr)
	case o.client != "":
		return runClient(&o, stdout, stderr)
	}
	switch {
	case o.size <= 0:
		fmt.Fprintln(stderr, "uploadbench: -size must be positive")
		return 2
	case o.compareSize < 0:
		fmt.Fprintln(stderr, "uploadbench: -compare-size must not be negative")
		return 2
	case o.rounds < 1:
		fmt.Fprintln(stderr, "uploadbench: -rounds must be at least 1")
		return 2
	case o.warmup < 0:
		fmt.Fprintln(stderr, "uploadbench: -warmup must not be negative")
		return 2
	case o.timeout <= 0:
		fmt.Fprintln(stderr, "uploadbench: -timeout must be positive")
		return 2
	case o.tune.sinkSide() && !slices.Contains(o.protos, protoH2):
		fmt.Fprintf(stderr, "uploadbench: -tune %s applies to h2, which -proto lacks\n", o.tune.sinkKeys())
		return 2
	}
	return runBench(&o, stdout, stderr)
}
