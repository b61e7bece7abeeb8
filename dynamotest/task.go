package dynamotest

import (
	"encoding/json"
	"fmt"
	"time"
)

// taskRetention is how long GET /v1/task/{taskId} keeps answering for a task. The
// vendor does not document it; its console lists the tasks of the last 3 days.
const taskRetention = 3 * 24 * time.Hour

// SingleTask is a snapshot of a task of the Task API (POST /v1/task), posted or
// seeded. Task, by contrast, is one task of a batch.
type SingleTask struct {
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
	// Stage is where the task is in its lifecycle.
	Stage Stage
	// Started, Completed and Errors tell the task's progress as its status does.
	Started, Completed, Errors bool
	// StatusMessage is "Received", "Queued", "Running", "Ready" or a failure message.
	StatusMessage string
	// StatusDescription is the status's textual description.
	StatusDescription string
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

func (t *singleState) snapshot() SingleTask {
	out := SingleTask{
		ID:                t.id,
		Template:          t.template,
		Integration:       deepCopyMap(t.integration),
		Params:            deepCopyMap(t.params),
		Parts:             copyParts(t.parts),
		PostedAt:          t.postedAt,
		Stage:             t.stage,
		Started:           t.started(),
		Completed:         t.completed(),
		Errors:            t.failed(),
		StatusMessage:     t.statusMessage(),
		StatusDescription: t.statusDescription(),
		StartedAt:         t.startedAt,
		EndedAt:           t.endedAt,
		Log:               append([]string(nil), t.log...),
		Results:           copyResults(t.results),
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

// SingleTasks returns a snapshot of every Task API task, posted or seeded, in the
// order they were stored, expired ones included.
func (s *Server) SingleTasks() []SingleTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	out := make([]SingleTask, 0, len(s.singles))
	for _, t := range s.singles {
		s.settleSingle(t, now)
		out = append(out, t.snapshot())
	}
	return out
}

// SingleTask returns a snapshot of the Task API task with the given ID, expired or not.
func (s *Server) SingleTask(id string) (SingleTask, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.singleIndex[id]
	if !ok {
		return SingleTask{}, false
	}
	s.settleSingle(t, s.cfg.now())
	return t.snapshot(), true
}

// QueueSingleTask moves a Task API task to "Queued", whatever it was before. It
// panics if the task is unknown.
func (s *Server) QueueSingleTask(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSingle("QueueSingleTask", taskID, s.cfg.now()).queue()
}

// StartSingleTask marks a Task API task as running from now on, whatever it was
// before. It panics if the task is unknown.
func (s *Server) StartSingleTask(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("StartSingleTask", taskID, now).start(now)
}

// CompleteSingleTask marks a Task API task as "Ready", with the given result files.
// It panics if the task is unknown, or if a result file's ID is empty or given twice.
func (s *Server) CompleteSingleTask(taskID string, results ...ResultFile) {
	mustResults("CompleteSingleTask", results)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("CompleteSingleTask", taskID, now).finish(now, "", results)
}

// FailSingleTask marks a Task API task as completed with errors: its status message
// becomes message ("Failed" when empty) and its log gets a SEVERE entry. It panics if
// the task is unknown.
func (s *Server) FailSingleTask(taskID, message string) {
	if message == "" {
		message = defaultFailure
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustSingle("FailSingleTask", taskID, now).finish(now, message, nil)
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
