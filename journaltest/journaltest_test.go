package journaltest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/journaltest"
)

// memory is a store of journals in memory, shared by the store values of
// one test as a database is by the processes of a fleet: the smallest store
// that keeps the contract, and the suite's check of itself.
type memory struct {
	mu     sync.Mutex
	jobs   map[string]*memJob
	broken string // how TestSuiteFails breaks it: a key of breakages
}

type memJob struct {
	lines  [][]byte
	holder *memJournal // nil when no run holds the job
	epoch  int         // incremented by each Open
}

// memStore is a store value for one job.
type memStore struct {
	m   *memory
	job string
}

func (s memStore) Open(ctx context.Context) (dynamo.Journal, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.jobs == nil {
		s.m.jobs = make(map[string]*memJob)
	}
	job := s.m.jobs[s.job]
	if job == nil {
		job = &memJob{}
		s.m.jobs[s.job] = job
	}
	if job.holder != nil && s.m.broken != "lockless" {
		return nil, fmt.Errorf("job %s: %w", s.job, dynamo.ErrJournalInUse)
	}
	job.epoch++
	j := &memJournal{m: s.m, job: job, epoch: job.epoch}
	job.holder = j
	return j, nil
}

type memJournal struct {
	m     *memory
	job   *memJob
	epoch int
}

var errLost = fmt.Errorf("the hold was lost: %w", dynamo.ErrJournalLost)

func (j *memJournal) Lines(ctx context.Context) iter.Seq2[[]byte, error] {
	j.m.mu.Lock()
	lines := slices.Clone(j.job.lines)
	if j.m.broken == "forgets" {
		lines = nil
	}
	j.m.mu.Unlock()
	return func(yield func([]byte, error) bool) {
		for _, l := range lines {
			if !yield(slices.Clone(l), nil) {
				return
			}
		}
	}
}

func (j *memJournal) Append(ctx context.Context, line []byte) error {
	if (slices.Contains(line, '\n') || !json.Valid(line)) && j.m.broken != "lax" {
		return errors.New("not one JSON value on one line")
	}
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	if (j.job.holder != j || j.job.epoch != j.epoch) && j.m.broken != "unfenced" {
		return errLost
	}
	if n := len(j.job.lines); j.m.broken == "reorders" && n%2 == 1 {
		j.job.lines = slices.Insert(j.job.lines, n-1, slices.Clone(line))
		return nil
	}
	j.job.lines = append(j.job.lines, slices.Clone(line))
	return nil
}

func (j *memJournal) Close() error {
	if j.m.broken == "keeps" {
		return nil
	}
	j.lose()
	return nil
}

// lose ends the hold as a dead process would.
func (j *memJournal) lose() {
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	if j.job.holder == j {
		j.job.holder = nil
	}
}

func TestMemoryStore(t *testing.T) {
	m := new(memory)
	journaltest.TestStore(t,
		func(t *testing.T, job string) dynamo.JournalStore { return memStore{m, job} },
		journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) { j.(*memJournal).lose() }))
}

// The ways TestSuiteFails breaks the memory store, each named for the
// subtests it must fail.
var breakages = map[string][]string{
	"forgets":  {"Order", "DurableAcrossReopen", "ReleaseOnClose", "ReleaseOnLostHold"},
	"lockless": {"Exclusive"},
	"lax":      {"RefusesTornLines", "RefusesForeignLines"},
	"unfenced": {"Fencing"},
	"reorders": {"Order", "ConcurrentAppends"},
	"keeps":    {"ReleaseOnClose"},
}

const envBroken = "JOURNALTEST_BROKEN"

// TestSuiteFails checks that the suite fails a store that breaks each
// promise, by running it on a broken store in a child process.
func TestSuiteFails(t *testing.T) {
	for broken, subtests := range breakages {
		t.Run(broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStore$", "-test.v")
			cmd.Env = append(os.Environ(), envBroken+"="+broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that %s:\n%s", broken, out)
			}
			for _, name := range subtests {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenStore/"+name+" ") {
					t.Errorf("subtest %s did not fail on a store that %s:\n%s", name, broken, out)
				}
			}
		})
	}
}

// TestBrokenStore runs the suite on a broken store, for TestSuiteFails.
func TestBrokenStore(t *testing.T) {
	broken := os.Getenv(envBroken)
	if broken == "" {
		t.Skip("run by TestSuiteFails")
	}
	m := &memory{broken: broken}
	journaltest.TestStore(t,
		func(t *testing.T, job string) dynamo.JournalStore { return memStore{m, job} },
		journaltest.WithLoseHold(func(t *testing.T, j dynamo.Journal) { j.(*memJournal).lose() }))
}
