package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dynamokit/dynamo/internal/formdata"
)

// bulkPlan is a validated bulk job: what every chunk shares, how many
// chunks it has and, for tasks read again to be posted, each chunk's
// fingerprint as the validation read it, and the hash of those the journal
// records. It holds nothing per record.
type bulkPlan struct {
	batch   *Batch          // the Template, Integration and Parts of every chunk
	parts   []formdata.Part // the encoded extra parts, with an embedded template
	size    int             // records per chunk, but the last
	chunks  int
	records int
	// When the tasks are read again: prints has each chunk's fingerprint,
	// hashes the hash of the chunks that the journal records.
	fingerprint chunkFingerprint
	prints      []uint64
	hashes      map[int][sha256.Size]byte
}

// rangeOf returns the records of chunk i.
func (p *bulkPlan) rangeOf(i int) (first, end int) {
	return i * p.size, min((i+1)*p.size, p.records)
}

// bulkChunk is one batch of a bulk job.
type bulkChunk struct {
	index, first, end int
	batch             *Batch
	firstID, lastID   string // the first and last record IDs
	// tasks is the tasks' JSON, once encoded, and hash its SHA-256, once
	// taken.
	tasks []byte
	hash  [sha256.Size]byte
}

// newChunk is chunk index, of tasks, in plan p's job.
func (p *bulkPlan) newChunk(index int, tasks []Task) bulkChunk {
	first := index * p.size
	return bulkChunk{index: index, first: first, end: first + len(tasks), batch: &Batch{
		Template:    p.batch.Template,
		Tasks:       tasks,
		Integration: p.batch.Integration,
		Parts:       p.batch.Parts,
	}}
}

// encode encodes the chunk's tasks and, withHash, hashes them.
func (ch *bulkChunk) encode(withHash bool) error {
	tasks, err := encodeTasks(ch.batch.Tasks, ch.first)
	if err != nil {
		return err
	}
	ch.tasks = tasks
	if withHash {
		ch.hash = sha256.Sum256(tasks)
	}
	return nil
}

// noteIDs notes the chunk's first and last record IDs, for the journal.
func (ch *bulkChunk) noteIDs() {
	ch.firstID, _ = ch.batch.Tasks[0].Params["id"].(string)
	ch.lastID, _ = ch.batch.Tasks[len(ch.batch.Tasks)-1].Params["id"].(string)
}

// check validates the chunk for form f, numbering the fields of its tasks'
// problems by record in the whole job; the problems that are not a task's
// are the same for every chunk, and reported for the first only.
func (ch *bulkChunk) check(f form) problems {
	var p problems
	for _, prob := range ch.batch.validate(f) {
		if field, ok := renumberTaskField(prob.Field, ch.first); ok {
			prob.Field = field
			p = append(p, prob)
		} else if ch.index == 0 {
			p = append(p, prob)
		}
	}
	for i, t := range ch.batch.Tasks {
		if !paramsEncodable(t.Params) {
			paramsEncodingProblems(fmt.Sprintf("tasks[%d].params", ch.first+i), t.Params, &p)
		}
	}
	return p
}

// planJob reads the tasks once and validates every chunk, with the
// problems' fields numbered by record in the whole job, so that an invalid
// job sends nothing. When the tasks are read again to be posted, it takes
// each chunk's fingerprint, and the hash of those the journal j (nil
// without one) records, to check them against it. The chunks are checked on
// every core while the next are read, holding no more chunks than there are
// cores.
func planJob(ctx context.Context, b *Batch, tasks bulkTasks, cfg *bulkConfig, j *journal) (*bulkPlan, error) {
	f := formReference
	var p problems
	if t := cfg.template; t != nil {
		f = formEmbedded
		t.validate(&p)
		if t.singleUse {
			p.add("template", "a template from TemplateFromReader can be read only once, but PostBulk sends it with every chunk: use TemplateFromFile, TemplateFromBytes, TemplateFromReaderAt or TemplateFromOpener")
		}
	}
	plan := &bulkPlan{batch: &Batch{Template: b.Template, Integration: b.Integration, Parts: b.Parts}, size: cfg.chunkSize}
	rereads := tasks.rereads()
	if rereads {
		plan.fingerprint = newChunkFingerprint()
		plan.hashes = make(map[int][sha256.Size]byte)
	}

	var (
		mu    sync.Mutex
		found = make(map[int]problems)
		wg    sync.WaitGroup
		work  = make(chan bulkChunk)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				chunkProblems := ch.check(f)
				var print uint64
				hashed := false
				if rereads && len(chunkProblems) == 0 {
					print = plan.fingerprint.of(ch.batch.Tasks)
					if j.vouches(ch.index) {
						err := ch.encode(true)
						if err != nil { // not expected: check found every value encodable
							chunkProblems.add(fmt.Sprintf("tasks[%d:%d]", ch.first, ch.end), err.Error())
						}
						hashed = err == nil
					}
				}
				mu.Lock()
				if len(chunkProblems) > 0 {
					found[ch.index] = chunkProblems
				}
				if rereads {
					plan.prints[ch.index] = print
				}
				if hashed {
					plan.hashes[ch.index] = ch.hash
				}
				mu.Unlock()
			}
		}()
	}
	var readErr error
	for chunk, err := range tasks.chunks(ctx, cfg.chunkSize) {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			readErr = err
			break
		}
		if rereads {
			mu.Lock()
			plan.prints = append(plan.prints, 0)
			mu.Unlock()
		}
		work <- plan.newChunk(plan.chunks, chunk)
		plan.chunks++
		plan.records += len(chunk)
	}
	close(work)
	wg.Wait()
	if readErr != nil {
		return nil, &wrapError{msg: "dynamo: " + detail(readErr) + ": nothing was posted", err: readErr}
	}

	if plan.chunks == 0 {
		p = append(p, plan.batch.validate(f)...)
	}
	for _, i := range slices.Sorted(maps.Keys(found)) {
		p = append(p, found[i]...)
	}
	var partsErr error
	if f == formEmbedded {
		plan.parts, partsErr = encodeParts(b.Parts)
	}
	if err := joinProblems(p.err(), partsErr); err != nil {
		return nil, err
	}
	return plan, nil
}

// verify makes sure that the journal j fits the job: each chunk it records
// as accepted or possibly posted has the same records. It hashes a chunk of
// a slice of tasks only when the journal records it.
func (p *bulkPlan) verify(j *journal, tasks bulkTasks) error {
	for i := range p.chunks {
		first, end := p.rangeOf(i)
		hash := func() (string, error) {
			if p.hashes != nil {
				h, ok := p.hashes[i]
				if !ok {
					return "", errors.New("not hashed") // not expected: planJob hashes what the journal records
				}
				return hex.EncodeToString(h[:]), nil
			}
			ch := p.newChunk(i, tasks.(sliceTasks)[first:end])
			err := ch.encode(true)
			return hex.EncodeToString(ch.hash[:]), err
		}
		if err := j.verify(i, first, end, hash); err != nil {
			return err
		}
	}
	return j.verifyCount(p.chunks)
}

// renumberTaskField turns a chunk's "tasks[i]…" field into the job's
// "tasks[offset+i]…"; ok is false for a field that is not a task's.
func renumberTaskField(field string, offset int) (string, bool) {
	rest, ok := strings.CutPrefix(field, "tasks[")
	if !ok {
		return field, false
	}
	num, tail, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return field, false
	}
	return "tasks[" + strconv.Itoa(offset+i) + "]" + tail, true
}
