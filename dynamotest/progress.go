package dynamotest

import (
	"fmt"
	"time"
)

// Stage is where a task is in its lifecycle. A batch's task goes Queued, Running,
// then Completed; a Task API task goes Received, Queued, Running, then Ready. Either
// may fail instead of completing.
type Stage int

const (
	// StagePosted is where a post leaves a task: "Queued" for a batch's task,
	// "Received" for a Task API task. Only such a task is auto-completed.
	StagePosted Stage = iota
	// StageQueued is "Queued".
	StageQueued
	// StageRunning is "Running".
	StageRunning
	// StageDone is completed without errors: "Completed" for a batch's task,
	// "Ready" for a Task API task.
	StageDone
	// StageFailed is completed with errors; the status message is the failure's.
	StageFailed
)

// String returns the Stage's Go name.
func (st Stage) String() string {
	switch st {
	case StagePosted:
		return "StagePosted"
	case StageQueued:
		return "StageQueued"
	case StageRunning:
		return "StageRunning"
	case StageDone:
		return "StageDone"
	case StageFailed:
		return "StageFailed"
	}
	return fmt.Sprintf("Stage(%d)", int(st))
}

func (st Stage) valid() bool { return st >= StagePosted && st <= StageFailed }

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
	stage     Stage
	driven    bool // the test or auto-completion has decided the stage: auto-completion keeps off
	failure   string
	startedAt time.Time
	endedAt   time.Time
	log       []string
	results   []ResultFile
	session   *taskSession // used when the task runs; nil when not judged
}

func (p *progress) started() bool   { return p.stage >= StageRunning }
func (p *progress) completed() bool { return p.stage >= StageDone }
func (p *progress) failed() bool    { return p.stage == StageFailed }

// queue moves the task back to, or on to, waiting in the queue.
func (p *progress) queue() {
	p.driven = true
	p.stage = StageQueued
	p.startedAt, p.endedAt = time.Time{}, time.Time{}
	p.failure = ""
	p.results = nil
}

// start marks the task as running from now.
func (p *progress) start(now time.Time) {
	if p.sessionLost(now) {
		return
	}
	p.driven = true
	p.stage = StageRunning
	p.startedAt, p.endedAt = now, time.Time{}
	p.failure = ""
	p.results = nil
}

// finish marks the task as completed at now, with results or with a failure; a task
// that never started starts at now.
func (p *progress) finish(now time.Time, failure string, results []ResultFile) {
	if !p.started() && p.sessionLost(now) {
		return
	}
	p.driven = true
	if !p.started() {
		p.startedAt = now
	}
	p.endedAt = now
	p.failure = failure
	if failure != "" {
		p.stage = StageFailed
		p.log = append(p.log, "SEVERE "+failure)
		p.results = nil
		return
	}
	p.stage = StageDone
	p.results = copyResults(results)
}

// settle auto-completes an undriven task posted at postedAt, if it is due at now.
func (p *progress) settle(cfg *serverConfig, taskID string, postedAt, now time.Time) {
	if p.driven || cfg.autoComplete <= 0 {
		return
	}
	end := postedAt.Add(cfg.autoComplete)
	if now.Before(end) || p.sessionLost(end) {
		return
	}
	p.driven = true
	p.stage = StageDone
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
