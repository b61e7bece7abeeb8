package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// templateFile is a template on disk, with what the sink must find of it.
type templateFile struct {
	path string
	size int64
	crc  uint32 // CRC-32 (IEEE) of the content
}

// trial is one client run and what the sink saw of it.
type trial struct {
	mode   string // "A" or "B"
	v      variant
	file   *templateFile
	round  int // from 0; negative for a warm-up round
	warmup bool

	start     int64 // the client's start, UnixNano
	wall      time.Duration
	cpu       time.Duration
	maxRSS    int64 // KiB, the child's ru_maxrss; -1 when unknown
	ownHWM    int64 // KiB, the child's own VmHWM; -1 when unknown
	firstByte time.Duration
	rec       sinkRecord
	problems  []string // what the sink found wrong with the body
}

// bench is a benchmark run.
type bench struct {
	o        *options
	out      io.Writer // the report
	errw     io.Writer // the sink's errors
	exe      string
	env      []string
	certFile string // where the sink writes its certificate
	sink     *sinkProc
	spawn    *spawnerProc
	trials   []*trial
	failed   int // trials that could not be measured
	seq      int // trials started, to tag each
}

func runBench(o *options, stdout, stderr io.Writer) int {
	out := &lockedWriter{w: stdout}
	errw := &lockedWriter{w: stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o, out: out, errw: errw}
	if err := b.run(ctx); err != nil {
		fmt.Fprintf(errw, "uploadbench: %v\n", err)
		return 1
	}
	if b.failed > 0 {
		fmt.Fprintf(out, "\n%d trial(s) could not be measured; see the errors above\n", b.failed)
		return 1
	}
	return 0
}

func (b *bench) run(ctx context.Context) (err error) {
	o := b.o
	if b.exe, err = os.Executable(); err != nil {
		return fmt.Errorf("finding this program's executable: %w", err)
	}
	dir, err := os.MkdirTemp("", "uploadbench-")
	if err != nil {
		return err
	}
	var generated []string // template files made in dir
	defer func() {
		if o.keepFile && len(generated) > 0 {
			fmt.Fprintf(b.out, "kept the generated template files: %s\n", strings.Join(generated, " "))
			return
		}
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()

	began := time.Now()
	tmpl, err := b.prepareMain(dir)
	if err != nil {
		return err
	}
	if strings.HasPrefix(tmpl.path, dir) {
		generated = append(generated, tmpl.path)
	}
	var compare *templateFile
	if o.compareSize > 0 {
		sub := filepath.Join(dir, "compare")
		if err := os.Mkdir(sub, 0o700); err != nil {
			return err
		}
		// The same base name, so that both bodies have the same framing.
		if compare, err = createTemplate(filepath.Join(sub, filepath.Base(tmpl.path)), o.compareSize); err != nil {
			return err
		}
		generated = append(generated, compare.path)
	}
	prepared := time.Since(began)
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}

	// Any unguessable token will do as the API key: the boundary generator's
	// 30 random bytes in hexadecimal are one.
	b.env = append(os.Environ(), envTenantID+"=uploadbench-tenant", envAPIKey+"="+formdata.NewBoundary())
	b.certFile = filepath.Join(dir, "sink-cert.pem")
	sinkArgs := []string{"-sink", "-proto", o.protos.String(), "-cert", b.certFile}
	if !o.tune.isZero() {
		sinkArgs = append(sinkArgs, "-tune", o.tune.String())
	}
	if b.sink, err = startSink(ctx, b.exe, sinkArgs, b.env, b.errw); err != nil {
		return err
	}
	defer b.sink.stop()
	if b.spawn, err = startSpawner(b.exe, b.env, b.errw); err != nil {
		return err
	}
	defer b.spawn.stop()

	fmt.Fprintf(b.out, "uploadbench: %s template %s (%d bytes, ready in %s), %d rounds + %d warm-up, %s %s/%s, %d CPUs, GOMAXPROCS %d\n",
		formatSize(tmpl.size), tmpl.path, tmpl.size, formatDur(prepared), o.rounds, o.warmup, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if compare != nil {
		fmt.Fprintf(b.out, "compare: SDK also with a %s template (%d bytes)\n", formatSize(compare.size), compare.size)
	}
	fmt.Fprintf(b.out, "sink: pid %d, control at %s; clients started by launcher pid %d\n", b.sink.cmd.Process.Pid, b.sink.url, b.spawn.cmd.Process.Pid)
	for _, v := range o.variants() {
		fmt.Fprintf(b.out, "  %-6s %s (%s)\n", v, b.sink.urls[v.String()], b.describe(v))
	}
	fmt.Fprintln(b.out)

	// Each round runs both clients on every variant; odd rounds run them
	// in the reverse order, so that no client or protocol always follows
	// the same one.
	type step struct {
		v    variant
		mode string
	}
	var steps []step
	for _, v := range o.variants() {
		steps = append(steps, step{v, "A"}, step{v, "B"})
	}
	for r := -o.warmup; r < o.rounds; r++ {
		order := slices.Clone(steps)
		if r%2 != 0 {
			slices.Reverse(order)
		}
		for _, s := range order {
			if err := b.runTrial(ctx, r, s.v, s.mode, tmpl); err != nil {
				return err
			}
		}
		if compare != nil {
			for _, p := range o.protos {
				if err := b.runTrial(ctx, r, variant{proto: p}, "B", compare); err != nil {
					return err
				}
			}
		}
	}
	b.report(tmpl, compare)
	return nil
}

// describe says how the clients reach the sink in variant v.
func (b *bench) describe(v variant) string {
	d := map[proto]string{
		protoHTTP:  "HTTP/1.1, plain TCP",
		protoH1TLS: "HTTP/1.1 over TLS",
		protoH2:    "HTTP/2 over TLS",
	}[v.proto]
	if v.tuned {
		d += ", tuned: " + b.o.tune.String()
	}
	return d
}

// prepareMain returns the template to measure with: the -file, created with
// -size if missing, or a new file in dir.
func (b *bench) prepareMain(dir string) (*templateFile, error) {
	o := b.o
	if o.file == "" {
		return createTemplate(filepath.Join(dir, "template.dap"), o.size)
	}
	fi, err := os.Stat(o.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(b.out, "creating %s (%s); it is kept\n", o.file, formatSize(o.size))
		return createTemplate(o.file, o.size)
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("-file %s is not a regular file", o.file)
	case o.sizeSet && fi.Size() != o.size:
		return nil, fmt.Errorf("-file %s holds %d bytes but -size asks for %d; drop -size or use another file", o.file, fi.Size(), o.size)
	case fi.Size() == 0:
		return nil, fmt.Errorf("-file %s is empty", o.file)
	}
	crc, err := fileCRC(o.file)
	if err != nil {
		return nil, err
	}
	return &templateFile{path: o.file, size: fi.Size(), crc: crc}, nil
}

// createTemplate writes a file of size bytes: a 1 MiB block of pseudo-random
// bytes, repeated.
func createTemplate(path string, size int64) (_ *templateFile, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(0x75706c6f6164, 0x62656e6368))
	for i := 0; i < len(block); i += 8 {
		binary.LittleEndian.PutUint64(block[i:], rng.Uint64())
	}
	h := crc32.NewIEEE()
	for left := size; left > 0; {
		n := int(min(left, int64(len(block))))
		if _, err := f.Write(block[:n]); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		h.Write(block[:n])
		left -= int64(n)
	}
	return &templateFile{path: path, size: size, crc: h.Sum32()}, nil
}

func fileCRC(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return h.Sum32(), nil
}

// runTrial runs one client child and records it. It returns an error only
// when the benchmark cannot go on (interrupted, sink gone); a failed trial
// is reported and counted.
func (b *bench) runTrial(ctx context.Context, round int, v variant, mode string, tf *templateFile) error {
	t := &trial{mode: mode, v: v, file: tf, round: round, warmup: round < 0}
	label := fmt.Sprintf("round %d/%d", round+1, b.o.rounds)
	if t.warmup {
		label = fmt.Sprintf("warm-up %d/%d", round+b.o.warmup+1, b.o.warmup)
	}
	label = fmt.Sprintf("%-13s %-6s %s %-8s", label, v, mode, formatSize(tf.size))

	b.seq++
	tag := strconv.Itoa(b.seq)
	err, fatal := b.runClientChild(ctx, round, tag, t, tf)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during %s", strings.Join(strings.Fields(label), " "))
	}
	if fatal != nil {
		return fatal
	}
	if err == nil {
		// The sink records a request before it answers, so the record is
		// there; records of earlier trials that failed may come along.
		recs, serr := b.sink.fetchStats(ctx)
		if serr != nil {
			return fmt.Errorf("asking the sink for its record: %w", serr)
		}
		var mine []sinkRecord
		for _, r := range recs {
			if r.Tag == tag {
				mine = append(mine, r)
			}
		}
		if len(mine) == 1 {
			t.rec = mine[0]
			t.problems = checkRecord(&t.rec, v, tf)
			if t.rec.FirstByte > 0 {
				t.firstByte = time.Duration(t.rec.FirstByte - t.start)
			}
		} else {
			err = fmt.Errorf("the sink saw %d requests of this trial, want 1", len(mine))
		}
	}
	if err != nil {
		b.failed++
		fmt.Fprintf(b.out, "%s  FAILED: %v\n", label, err)
		return nil
	}
	b.trials = append(b.trials, t)
	verdict := "body ok"
	if len(t.problems) > 0 {
		verdict = "BODY WRONG: " + strings.Join(t.problems, "; ")
	}
	fmt.Fprintf(b.out, "%s  wall %9s  cpu %9s  rss %9s (own %9s)  first byte %9s  %s\n", label,
		formatDur(t.wall), formatDur(t.cpu), formatKiB(t.maxRSS), formatKiB(t.ownHWM), formatDur(t.firstByte), verdict)
	return nil
}

// runClientChild runs the client child of trial t and fills in what it
// measured. It returns err when the trial failed, fatal when the benchmark
// cannot go on.
func (b *bench) runClientChild(ctx context.Context, round int, tag string, t *trial, tf *templateFile) (err, fatal error) {
	args := []string{"-client=" + t.mode, "-tag", tag, "-url", b.sink.urls[t.v.String()], "-file", tf.path,
		"-timeout", b.o.timeout.String(), "-proto", string(t.v.proto), "-cert", b.certFile}
	if t.v.tuned {
		args = append(args, "-tune", b.o.tune.String())
	}
	if b.o.profileDir != "" {
		size := strings.ReplaceAll(formatSize(tf.size), " ", "")
		// A star is awkward in a file name.
		v := strings.ReplaceAll(t.v.String(), "*", "-tuned")
		name := fmt.Sprintf("%s-%s-%s-r%d", t.mode, v, size, round+1)
		if t.warmup {
			name = fmt.Sprintf("%s-%s-%s-w%d", t.mode, v, size, round+b.o.warmup+1)
		}
		args = append(args,
			"-cpuprofile", filepath.Join(b.o.profileDir, name+".cpu.pprof"),
			"-memprofile", filepath.Join(b.o.profileDir, name+".heap.pprof"))
		if err := b.sink.startProfile(ctx, filepath.Join(b.o.profileDir, "sink-"+name+".cpu.pprof")); err != nil {
			return nil, fmt.Errorf("starting the sink's profile: %w", err)
		}
	}
	res, fatal := b.spawn.run(ctx, args, b.o.timeout+10*time.Second)
	if fatal != nil {
		return nil, fatal
	}
	if res.Err != "" {
		return fmt.Errorf("client %s: %s: %s", t.mode, res.Err, strings.TrimSpace(res.Stderr)), nil
	}
	t.cpu, t.maxRSS = res.CPU, res.MaxRSS
	fields := map[string]string{}
	for _, f := range strings.Fields(res.Stdout) {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	var start, wall, hwm int64
	for _, kv := range []struct {
		key string
		dst *int64
	}{{"start", &start}, {"wall", &wall}, {"hwm", &hwm}} {
		n, err := strconv.ParseInt(fields[kv.key], 10, 64)
		if err != nil {
			return fmt.Errorf("client %s printed %q: no %s", t.mode, strings.TrimSpace(res.Stdout), kv.key), nil
		}
		*kv.dst = n
	}
	t.start, t.wall, t.ownHWM = start, time.Duration(wall), hwm
	return nil, nil
}

// checkRecord lists what is wrong with the request the sink received for
// variant v: its protocol, or its body.
func checkRecord(rec *sinkRecord, v variant, tf *templateFile) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if rec.Listener != v.String() || rec.Proto != v.proto.wire() || (rec.TLS != "") != v.proto.isTLS() {
		tls := "without TLS"
		if rec.TLS != "" {
			tls = "over " + rec.TLS
		}
		add("arrived on the %s listener as %s %s, want %s on %s", rec.Listener, rec.Proto, tls, v.proto.wire(), v)
	}
	if rec.Status != http.StatusAccepted {
		add("sink answered %d: %s", rec.Status, rec.Error)
	}
	if rec.Chunked {
		add("sent chunked")
	}
	if rec.ContentLength < 0 {
		add("no Content-Length")
	} else if rec.ContentLength != rec.Bytes {
		add("Content-Length %d but %d bytes read", rec.ContentLength, rec.Bytes)
	}
	if rec.TemplateBytes != tf.size {
		add("template part %d bytes, file %d", rec.TemplateBytes, tf.size)
	} else if rec.TemplateCRC != tf.crc {
		add("template part CRC-32 %08x, file %08x", rec.TemplateCRC, tf.crc)
	}
	if rec.TemplateName != filepath.Base(tf.path) || rec.TemplateType != "application/octet-stream" {
		add("template part filename %q, type %q", rec.TemplateName, rec.TemplateType)
	}
	if rec.Tasks != 1 || rec.Parts != 2 {
		add("%d parts and %d tasks, want 2 and 1", rec.Parts, rec.Tasks)
	}
	if rec.FirstByte == 0 {
		add("no body byte read")
	}
	return p
}

// sinkProc is the sink's child process.
type sinkProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	url     string            // of the benchmark's own requests
	urls    map[string]string // base URL by variant
	hc      *http.Client
	done    chan struct{} // closed once the process has exited
	waitErr error         // set before done is closed
}

// startSink starts the sink with args and waits for its addresses.
func startSink(ctx context.Context, exe string, args, env []string, stderr io.Writer) (*sinkProc, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	lw := &firstLine{ch: make(chan string, 1)}
	cmd.Stdout = lw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sink: %w", err)
	}
	s := &sinkProc{cmd: cmd, stdin: stdin, hc: &http.Client{Timeout: 30 * time.Second}, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	var line string
	select {
	case line = <-lw.ch:
	case <-s.done:
		return nil, fmt.Errorf("the sink exited before listening: %v", s.waitErr)
	case <-timer.C:
		err = errors.New("the sink did not print its address within 15s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = s.parseAddrs(line)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-s.done
		return nil, err
	}
	return s, nil
}

// parseAddrs reads the sink's line of addresses:
// "control=HOST:PORT <variant>=HOST:PORT …".
func (s *sinkProc) parseAddrs(line string) error {
	s.urls = map[string]string{}
	for _, f := range strings.Fields(line) {
		name, addr, _ := strings.Cut(f, "=")
		if name == "control" {
			s.url = "http://" + addr
			continue
		}
		scheme := "http"
		if p, err := parseProto(strings.TrimSuffix(name, "*")); err == nil && p.isTLS() {
			scheme = "https"
		}
		s.urls[name] = scheme + "://" + addr
	}
	if s.url == "" {
		return fmt.Errorf("the sink printed %q, want control=HOST:PORT first", line)
	}
	return nil
}

// stop ends the sink: closing its standard input makes it exit; it is
// killed if it has not within 5 seconds.
func (s *sinkProc) stop() {
	s.hc.CloseIdleConnections()
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// startProfile has the sink write a CPU profile to path until it has
// answered the next post.
func (s *sinkProc) startProfile(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/profile?file="+url.QueryEscape(path), nil)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST /profile: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// fetchStats returns the sink's records of the requests since the last
// call.
func (s *sinkProc) fetchStats(ctx context.Context) ([]sinkRecord, error) {
	select {
	case <-s.done:
		return nil, fmt.Errorf("the sink has exited: %v", s.waitErr)
	default:
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	var recs []sinkRecord
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&recs); err != nil {
		return nil, fmt.Errorf("GET /stats: %w", err)
	}
	return recs, nil
}

// firstLine is a writer that hands over the first line written to it, and
// discards everything.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	ch   chan string // gets the first line, once
	sent bool
}

func (l *firstLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.sent {
		l.buf = append(l.buf, p...)
		if i := bytes.IndexByte(l.buf, '\n'); i >= 0 {
			l.ch <- strings.TrimSpace(string(l.buf[:i]))
			l.sent, l.buf = true, nil
		} else if len(l.buf) > 4096 {
			l.ch <- string(l.buf[:4096])
			l.sent, l.buf = true, nil
		}
	}
	return len(p), nil
}

// lockedWriter serializes writes from the benchmark and from the copying
// goroutines of its children.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
