package journaltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokit/dynamo"
)

// NewStore returns a new store value for job, as another process or machine
// pointed at the same storage would make. TestStore calls it several times
// for one job; every job it names is new, with no line yet.
type NewStore func(t *testing.T, job string) dynamo.JournalStore

// Option adds to what TestStore can check.
type Option func(*config)

type config struct {
	loseHold func(t *testing.T, j dynamo.Journal)
}

// WithLoseHold gives TestStore a way to make j, a journal opened by the
// store, lose its hold as it would if its process died or its connection to
// the storage were cut, without calling Close: closing the file descriptor
// or the connection that holds the lock, or having the server end it.
// loseHold returns once another run can open the job.
//
// Without it, the subtests of a lost hold (ReleaseOnLostHold, Fencing) are
// skipped, saying so.
func WithLoseHold(loseHold func(t *testing.T, j dynamo.Journal)) Option {
	return func(c *config) { c.loseHold = loseHold }
}

// patience bounds every call the suite makes to the store: far longer than
// any call of a working store takes, so that a store that waits (for a lock
// instead of refusing it at once, say) fails the test instead of hanging it.
const patience = 30 * time.Second

// TestStore checks that the stores made by newStore keep the contract of
// dynamo.JournalStore and dynamo.Journal, in one subtest per property:
//
//   - Order: a new job has no line; Lines returns the lines appended, in
//     order, byte for byte.
//   - DurableAcrossReopen: a new store value for the job, opened after the
//     first run closed it, reads every line.
//   - Exclusive: while a run holds the job, a second Open, through another
//     store value or the same one, fails at once with an error matching
//     dynamo.ErrJournalInUse; another job is not held.
//   - ReleaseOnClose: once the journal is closed, another run opens the job.
//   - ReleaseOnLostHold: once the hold is lost (see WithLoseHold), another
//     run opens the job and reads every line appended before.
//   - Fencing: a run that lost its hold, after another run took the job,
//     gets an error matching dynamo.ErrJournalLost from Append, and its line
//     is not written.
//   - RefusesTornLines and RefusesForeignLines: see the package doc.
//   - ConcurrentAppends: Appends of one run from several goroutines all
//     land, whole, each after every Append that had returned before it was
//     called.
func TestStore(t *testing.T, newStore NewStore, opts ...Option) {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := suite{newStore: newStore, config: c}
	t.Run("Order", s.order)
	t.Run("DurableAcrossReopen", s.durableAcrossReopen)
	t.Run("Exclusive", s.exclusive)
	t.Run("ReleaseOnClose", s.releaseOnClose)
	t.Run("ReleaseOnLostHold", s.releaseOnLostHold)
	t.Run("Fencing", s.fencing)
	t.Run("RefusesTornLines", s.refusesTornLines)
	t.Run("RefusesForeignLines", s.refusesForeignLines)
	t.Run("ConcurrentAppends", s.concurrentAppends)
}

type suite struct {
	newStore NewStore
	config
}

// job returns a job name of t's own that no earlier run used.
func job(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, t.Name())
	return "journaltest-" + name + "-" + hex.EncodeToString(b[:])
}

func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// open opens a new store value for job and fails t if it cannot. The
// journal is closed when t ends, unless t closed it.
func (s *suite) open(t *testing.T, job string) *held {
	t.Helper()
	store := s.newStore(t, job)
	if store == nil {
		t.Fatalf("the constructor returned a nil store for job %q", job)
	}
	j, err := store.Open(callContext(t))
	if err != nil {
		t.Fatalf("Open of job %q: %v", job, err)
	}
	if j == nil {
		t.Fatalf("Open of job %q returned a nil journal and no error", job)
	}
	h := &held{Journal: j, store: store}
	t.Cleanup(func() { _ = h.close() })
	return h
}

// held is an open journal; it is closed once.
type held struct {
	dynamo.Journal
	store  dynamo.JournalStore
	once   sync.Once
	closed error
}

func (h *held) close() error {
	h.once.Do(func() { h.closed = h.Journal.Close() })
	return h.closed
}

func (h *held) mustClose(t *testing.T) {
	t.Helper()
	if err := h.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (h *held) lines(t *testing.T) []string {
	t.Helper()
	var lines []string
	for line, err := range h.Lines(callContext(t)) {
		if err != nil {
			t.Fatalf("Lines: %v", err)
		}
		lines = append(lines, string(line))
	}
	return lines
}

func (h *held) mustAppend(t *testing.T, line string) {
	t.Helper()
	if err := h.Append(callContext(t), []byte(line)); err != nil {
		t.Fatalf("Append(%q): %v", shorten(line), err)
	}
}

func shorten(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s… (%d bytes)", s[:60], len(s))
	}
	return s
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d:\ngot  %q\nwant %q", what, len(got), len(want), shortenAll(got), shortenAll(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d is %q, want %q", what, i+1, shorten(got[i]), shorten(want[i]))
		}
	}
}

func shortenAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = shorten(l)
	}
	return out
}

// sampleLines are lines of every shape PostBulk may write, and a few more:
// kept byte for byte, whitespace and escapes included.
func sampleLines() []string {
	big := strings.Repeat("a0B00000000000", 10000/14*10) // a line of a chunk with a thousand task IDs
	return []string{
		`{"v":2,"state":"posting","chunk":0}`,
		`{"v":2,"state":"accepted","chunk":0,"taskIDs":["a","b"]}`,
		`{ "spaced" : [ 1 , 2 ] , "x":null }`,
		`{"text":"é \u00e9 \"quoted\" \\ \u2028 \n escaped"}`,
		`[true,false,null,1.5e300,-0]`,
		`"a string"`,
		`{"taskIDs":"` + big + `"}`,
	}
}

func (s *suite) order(t *testing.T) {
	name := job(t)
	h := s.open(t, name)
	equalLines(t, "a new job's lines", h.lines(t), nil)
	want := sampleLines()
	for _, l := range want {
		h.mustAppend(t, l)
	}
	h.mustClose(t)
	equalLines(t, "the lines read back", s.open(t, name).lines(t), want)
}

func (s *suite) durableAcrossReopen(t *testing.T) {
	name := job(t)
	first := s.open(t, name)
	first.mustAppend(t, `{"run":1,"line":1}`)
	first.mustAppend(t, `{"run":1,"line":2}`)
	first.mustClose(t)

	second := s.open(t, name)
	equalLines(t, "the second run's lines", second.lines(t), []string{`{"run":1,"line":1}`, `{"run":1,"line":2}`})
	second.mustAppend(t, `{"run":2,"line":3}`)
	second.mustClose(t)

	equalLines(t, "the third run's lines", s.open(t, name).lines(t),
		[]string{`{"run":1,"line":1}`, `{"run":1,"line":2}`, `{"run":2,"line":3}`})
}

// mustBeInUse opens job through store and fails t unless Open is refused at
// once with ErrJournalInUse.
func mustBeInUse(t *testing.T, store dynamo.JournalStore, what string) {
	t.Helper()
	j, err := store.Open(callContext(t))
	switch {
	case err == nil:
		_ = j.Close()
		t.Fatalf("%s: Open succeeded while another run holds the job", what)
	case !errors.Is(err, dynamo.ErrJournalInUse):
		t.Fatalf("%s: Open failed with %v, want an error matching dynamo.ErrJournalInUse, at once", what, err)
	}
}

func (s *suite) exclusive(t *testing.T) {
	name := job(t)
	first := s.open(t, name)
	first.mustAppend(t, `{"run":1}`)

	mustBeInUse(t, s.newStore(t, name), "a second store value")
	mustBeInUse(t, first.store, "the store value that holds it")

	other := s.open(t, job(t))
	equalLines(t, "another job's lines", other.lines(t), nil)
	other.mustAppend(t, `{"other":1}`)

	first.mustAppend(t, `{"run":1,"after":"refusals"}`)
	first.mustClose(t)
	other.mustClose(t)
	equalLines(t, "the held job's lines", s.open(t, name).lines(t), []string{`{"run":1}`, `{"run":1,"after":"refusals"}`})
}

func (s *suite) releaseOnClose(t *testing.T) {
	name := job(t)
	first := s.open(t, name)
	first.mustAppend(t, `{"run":1}`)
	first.mustClose(t)
	second := s.open(t, name)
	equalLines(t, "the next run's lines", second.lines(t), []string{`{"run":1}`})
	second.mustAppend(t, `{"run":2}`)
}

func (s *suite) requireLoseHold(t *testing.T) {
	t.Helper()
	if s.loseHold == nil {
		t.Skip("journaltest: no WithLoseHold option: the store's release of a lost hold is not checked")
	}
}

func (s *suite) releaseOnLostHold(t *testing.T) {
	s.requireLoseHold(t)
	name := job(t)
	first := s.open(t, name)
	first.mustAppend(t, `{"run":1,"line":1}`)
	first.mustAppend(t, `{"run":1,"line":2}`)
	s.loseHold(t, first.Journal)

	second := s.open(t, name)
	equalLines(t, "the lines of the run that lost its hold", second.lines(t),
		[]string{`{"run":1,"line":1}`, `{"run":1,"line":2}`})
}

func (s *suite) fencing(t *testing.T) {
	s.requireLoseHold(t)
	name := job(t)
	first := s.open(t, name)
	first.mustAppend(t, `{"run":1}`)
	s.loseHold(t, first.Journal)

	second := s.open(t, name)
	equalLines(t, "the lines the second run reads", second.lines(t), []string{`{"run":1}`})
	err := first.Append(callContext(t), []byte(`{"run":1,"late":true}`))
	if !errors.Is(err, dynamo.ErrJournalLost) {
		t.Fatalf("Append of a run that lost its hold: %v, want an error matching dynamo.ErrJournalLost", err)
	}
	second.mustAppend(t, `{"run":2}`)
	second.mustClose(t)
	equalLines(t, "the job's lines", s.open(t, name).lines(t), []string{`{"run":1}`, `{"run":2}`})
}

// mustRefuse fails t unless Append of each line is refused.
func (s *suite) mustRefuse(t *testing.T, lines []string) {
	name := job(t)
	h := s.open(t, name)
	h.mustAppend(t, `{"before":true}`)
	for _, l := range lines {
		if err := h.Append(callContext(t), []byte(l)); err == nil {
			t.Errorf("Append(%q) succeeded, want it refused", l)
		}
	}
	h.mustAppend(t, `{"after":true}`)
	h.mustClose(t)
	equalLines(t, "the lines kept", s.open(t, name).lines(t), []string{`{"before":true}`, `{"after":true}`})
}

func (s *suite) refusesTornLines(t *testing.T) {
	s.mustRefuse(t, []string{
		"{\"a\":\n1}",          // valid JSON, but two lines
		"{\"a\":1}\n",          // a line with its newline
		"{\"a\":1}\n{\"b\":2}", // two lines in one
		"\n",
	})
}

func (s *suite) refusesForeignLines(t *testing.T) {
	refused := []string{
		"",
		"not json",
		`{"a":`,
		`{"a":1}{"b":2}`,
		"\"a\x00b\"", // a raw control character
	}
	for _, l := range refused {
		if json.Valid([]byte(l)) {
			panic("journaltest: a line meant to be refused is valid JSON: " + l)
		}
	}
	s.mustRefuse(t, refused)
}

func (s *suite) concurrentAppends(t *testing.T) {
	const goroutines, each = 8, 25
	name := job(t)
	h := s.open(t, name)
	ctx := callContext(t)

	// A line says how many Appends had returned when it was given: that
	// many lines at least come before it.
	var returned atomic.Int64
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				line := fmt.Sprintf(`{"g":%d,"i":%d,"after":%d,"pad":"%s"}`, g, i, returned.Load(), strings.Repeat("x", 100*g))
				if err := h.Append(ctx, []byte(line)); err != nil {
					errs <- fmt.Errorf("Append(%q): %w", shorten(line), err)
					return
				}
				returned.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h.mustClose(t)

	lines := s.open(t, name).lines(t)
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
	}
	next := make([]int, goroutines) // each goroutine's next line
	for pos, l := range lines {
		var rec struct{ G, I, After int }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.G < 0 || rec.G >= goroutines {
			t.Fatalf("line %d is not one of the lines appended: %q", pos+1, shorten(l))
		}
		want := fmt.Sprintf(`{"g":%d,"i":%d,"after":%d,"pad":"%s"}`, rec.G, rec.I, rec.After, strings.Repeat("x", 100*rec.G))
		if !bytes.Equal([]byte(l), []byte(want)) {
			t.Fatalf("line %d is torn: %q", pos+1, shorten(l))
		}
		if rec.I != next[rec.G] {
			t.Fatalf("line %d is goroutine %d's line %d, want its line %d: out of order or repeated", pos+1, rec.G, rec.I, next[rec.G])
		}
		next[rec.G]++
		if pos < rec.After {
			t.Fatalf("line %d was appended after %d Appends had returned, but comes before them", pos+1, rec.After)
		}
	}
}
