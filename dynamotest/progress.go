package dynamotest

import (
	"fmt"
	"time"
)

// stage is where a task is in its lifecycle. A batch's task goes Queued, Running,
// then Completed; a Task API task goes Received, Queued, Running, then Ready. Either
// may fail instead of completing.
type stage int

const (
	stagePosted  stage = iota // where a post leaves a task: "Queued" in a batch, "Received" in the Task API
	stageQueued               // "Queued"
	stageRunning              // "Running"
	stageDone                 // "Completed" in a batch, "Ready" in the Task API
	stageFailed               // completed with errors: the status message is the failure's
)

// The status messages of the two APIs.
const (
	statusReceived  = "Received"
	statusQueued    = "Queued"
	statusRunning   = "Running"
	statusCompleted = "Completed"
	statusReady     = "Ready"
	defaultFailure  = "Failed"

	batchWaiting   = "Waiting"
	batchStarted   = "Started"
	batchCompleted = "Completed"
)

// ResultFile is one result file of a task, served by the storage host.
type ResultFile struct {
	// ID is the result's ID as the status lists it; never empty.
	ID string
	// Content is the file's bytes.
	Content []byte
}

// progress is the lifecycle of one task, of a batch or of the Task API; every access
// holds Server.mu.
type progress struct {
	stage     stage
	driven    bool // the test or auto-completion has decided the stage: auto-completion keeps off
	failure   string
	startedAt time.Time
	endedAt   time.Time
	log       []string
	results   []ResultFile
}

func (p *progress) started() bool   { return p.stage >= stageRunning }
func (p *progress) completed() bool { return p.stage >= stageDone }
func (p *progress) failed() bool    { return p.stage == stageFailed }

// queue moves the task back to, or on to, waiting in the queue.
func (p *progress) queue() {
	p.driven = true
	p.stage = stageQueued
	p.startedAt, p.endedAt = time.Time{}, time.Time{}
	p.failure = ""
	p.results = nil
}

// start marks the task as running from now.
func (p *progress) start(now time.Time) {
	p.driven = true
	p.stage = stageRunning
	p.startedAt, p.endedAt = now, time.Time{}
	p.failure = ""
	p.results = nil
}

// finish marks the task as completed at now, with results or with a failure; a task
// that never started starts at now.
func (p *progress) finish(now time.Time, failure string, results []ResultFile) {
	p.driven = true
	if !p.started() {
		p.startedAt = now
	}
	p.endedAt = now
	p.failure = failure
	if failure != "" {
		p.stage = stageFailed
		p.log = append(p.log, "SEVERE "+failure)
		p.results = nil
		return
	}
	p.stage = stageDone
	p.results = copyResults(results)
}

// settle auto-completes an undriven task posted at postedAt, if it is due at now.
func (p *progress) settle(cfg *serverConfig, taskID string, postedAt, now time.Time) {
	if p.driven || cfg.autoComplete <= 0 {
		return
	}
	end := postedAt.Add(cfg.autoComplete)
	if now.Before(end) {
		return
	}
	p.driven = true
	p.stage = stageDone
	p.startedAt, p.endedAt = postedAt, end
	p.results = nil
	for _, id := range cfg.resultIDs {
		p.results = append(p.results, ResultFile{
			ID:      id,
			Content: []byte(fmt.Sprintf("result %s of task %s", id, taskID)),
		})
	}
}

// result finds a result file by ID.
func (p *progress) result(id string) (ResultFile, bool) {
	for _, r := range p.results {
		if r.ID == id {
			return r, true
		}
	}
	return ResultFile{}, false
}

// mustResults panics, naming method, unless every result has a distinct, non-empty
// ID: a status could not list them apart.
func mustResults(method string, results []ResultFile) {
	seen := make(map[string]bool, len(results))
	for _, r := range results {
		if r.ID == "" {
			panic(fmt.Sprintf("dynamotest: %s: a result file has an empty ID", method))
		}
		if seen[r.ID] {
			panic(fmt.Sprintf("dynamotest: %s: result file ID %q given twice", method, r.ID))
		}
		seen[r.ID] = true
	}
}

func copyResults(in []ResultFile) []ResultFile {
	if len(in) == 0 {
		return nil
	}
	out := make([]ResultFile, len(in))
	for i, r := range in {
		out[i] = ResultFile{ID: r.ID, Content: append([]byte(nil), r.Content...)}
	}
	return out
}
