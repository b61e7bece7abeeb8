package dynamotest

import (
	"encoding/json"
	"fmt"
	"time"
)

// taskRetention is how long GET /v1/task/{taskId} keeps answering for a task. The
// vendor does not document it; its console lists the tasks of the last 3 days.
const taskRetention = 3 * 24 * time.Hour

// Task is a snapshot of a task of the Task API (POST /v1/task), posted or
// seeded. BatchTask, by contrast, is one task of a batch.
type Task struct {
	// ID is the task ID handed out when the task was posted: "t-" and 32 hex digits.
	ID string
	// Template is the template reference of a JSON post; empty for a multipart post.
	Template string
	// EmbeddedTemplate describes the template part of a multipart post; nil for a
	// JSON post.
	EmbeddedTemplate *TemplateInfo
	// Integration is the integration object as posted, nil for a standalone task.
	Integration map[string]any
	// Params holds the task's params with every param part merged in: part
	// "param.<Name>" is the param <Name>. Never nil.
	Params map[string]any
	// Parts holds the extra JSON parts of a multipart post as they arrived, keyed by
	// name without the "param." prefix.
	Parts map[string]json.RawMessage
	// PostedAt is the server clock's time when the task was accepted.
	PostedAt time.Time
	// Stage is where the task is in its lifecycle; its status message and
	// description follow from it (see Stage).
	Stage Stage
	// Failure is the status message of a task at StageFailed; empty otherwise.
	Failure string
	// StartedAt and EndedAt are zero until the task starts and ends.
	StartedAt, EndedAt time.Time
	// Log holds the task's compose log entries.
	Log []string
	// Results are the files the task produced.
	Results []ResultFile
}

// singleState is a task of the Task API; every access holds Server.mu.
type singleState struct {
	id          string
	template    string
	embedded    *TemplateInfo
	integration map[string]any
	params      map[string]any
	parts       map[string]json.RawMessage
	postedAt    time.Time
	progress
}

func newTaskID() string { return "t-" + randomHex(16) }

func (t *singleState) expired(now time.Time) bool {
	return now.After(t.postedAt.Add(taskRetention))
}

// statusMessage and statusDescription are the task's status in the Task API.
func (t *singleState) statusMessage() string {
	switch t.stage {
	case StageQueued:
		return statusQueued
	case StageRunning:
		return statusRunning
	case StageDone:
		return statusReady
	case StageFailed:
		return t.failure
	}
	return statusReceived
}

func (t *singleState) statusDescription() string {
	switch t.stage {
	case StageQueued:
		return "The task is queued for processing"
	case StageRunning:
		return "The task is being processed"
	case StageDone:
		// The vendor's only example repeats the message.
		return statusReady
	case StageFailed:
		return "The task failed: see the log"
	}
	return "The task has been received"
}

func (s *Server) settleSingle(t *singleState, now time.Time) {
	t.settle(&s.cfg, t.id, t.postedAt, now)
}

func (t *singleState) snapshot() Task {
	out := Task{
		ID:          t.id,
		Template:    t.template,
		Integration: deepCopyMap(t.integration),
		Params:      deepCopyMap(t.params),
		Parts:       copyParts(t.parts),
		PostedAt:    t.postedAt,
		Stage:       t.stage,
		Failure:     t.failure,
		StartedAt:   t.startedAt,
		EndedAt:     t.endedAt,
		Log:         append([]string(nil), t.log...),
		Results:     copyResults(t.results),
	}
	if out.Params == nil {
		out.Params = map[string]any{}
	}
	if t.embedded != nil {
		e := *t.embedded
		out.EmbeddedTemplate = &e
	}
	return out
}

// Tasks returns a snapshot of every Task API task, posted or seeded, in the
// order they were stored, expired ones included.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	out := make([]Task, 0, len(s.singles))
	for _, t := range s.singles {
		s.settleSingle(t, now)
		out = append(out, t.snapshot())
	}
	return out
}

// Task returns a snapshot of the Task API task with the given ID, expired or not.
func (s *Server) Task(id string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.singleIndex[id]
	if !ok {
		return Task{}, false
	}
	s.settleSingle(t, s.cfg.now())
	return t.snapshot(), true
}

// QueueTask moves a Task API task to "Queued", whatever it was before. It
// panics if the task is unknown.
func (s *Server) QueueTask(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSingle("QueueTask", taskID, s.cfg.now()).queue()
}

// StartTask marks a Task API task as running from now on, whatever it was
// before. It panics if the task is unknown.
func (s *Server) StartTask(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("StartTask", taskID, now).start(now)
}

// CompleteTask marks a Task API task as "Ready", with the given result files.
// It panics if the task is unknown, or if a result file's ID is empty or given twice.
func (s *Server) CompleteTask(taskID string, results ...ResultFile) {
	mustResults("CompleteTask", results)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("CompleteTask", taskID, now).finish(now, "", results)
}

// FailTask marks a Task API task as completed with errors: its status message
// becomes message ("Failed" when empty) and its log gets a SEVERE entry. It panics if
// the task is unknown.
func (s *Server) FailTask(taskID, message string) {
	if message == "" {
		message = defaultFailure
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("FailTask", taskID, now).finish(now, message, nil)
}

// mustSingle finds a Task API task for a driving method, settling it first; s.mu is
// held.
func (s *Server) mustSingle(method, taskID string, now time.Time) *singleState {
	t, ok := s.singleIndex[taskID]
	if !ok {
		panic(fmt.Sprintf("dynamotest: %s: unknown task %q", method, taskID))
	}
	s.settleSingle(t, now)
	return t
}
