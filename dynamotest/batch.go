package dynamotest

import (
	"encoding/json"
	"fmt"
	"time"
)

// batchRetention is how long the status endpoints keep answering for a batch: the
// vendor documents 24 hours.
const batchRetention = 24 * time.Hour

// Batch is a snapshot of a batch, posted or seeded.
type Batch struct {
	// ID is the batch ID handed out when the batch was posted.
	ID string
	// Template is the template reference of a JSON post; empty for a multipart post.
	Template string
	// EmbeddedTemplate describes the template part of a multipart post; nil for a
	// JSON post.
	EmbeddedTemplate *TemplateInfo
	// Integration is the integration object as posted, nil when there was none.
	Integration map[string]any
	// Parts holds every extra JSON part of a multipart post, keyed by name without
	// the "param." prefix, whether a task maps it or not.
	Parts map[string]json.RawMessage
	// UnmappedParts lists, sorted, the names of the parts in Parts that no task's
	// partParams names. The fake accepts such parts and ignores them.
	UnmappedParts []string
	// PostedAt is the server clock's time when the batch was accepted.
	PostedAt time.Time
	// Tasks are the batch's tasks in posted order.
	Tasks []BatchTask
}

// PartParam is one partParams entry of a task, as posted.
type PartParam struct {
	// PartName is the part's name without the "param." prefix.
	PartName string
	// ParamName is the key of the task's params that receives the part's JSON.
	ParamName string
}

// BatchTask is a snapshot of one task of a batch.
type BatchTask struct {
	// ID is the task ID handed out when the batch was posted.
	ID string
	// Params holds the task's params merged with its partParams: each entry, in
	// order, puts the decoded JSON of its part under its paramName (later entries win).
	Params map[string]any
	// PartParams are the task's partParams entries as posted.
	PartParams []PartParam
	// Stage is where the task is in its lifecycle; its status message follows
	// from it (see Stage).
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

// batchState is a posted batch; every access holds Server.mu.
type batchState struct {
	id          string
	template    string
	embedded    *TemplateInfo
	integration map[string]any
	parts       map[string]json.RawMessage
	postedAt    time.Time
	tasks       []*taskState
}

// taskState is one task of a batchState. A bulk run posts millions of them to one
// fake, so a task keeps its params as the JSON it was posted with, decoded only by a
// snapshot, and a batch finds a task by scanning its at most 1000.
type taskState struct {
	id         string
	params     json.RawMessage // a JSON object; see batchState.params
	partParams []PartParam
	progress
}

func (b *batchState) task(id string) (*taskState, bool) {
	for _, t := range b.tasks {
		if t.id == id {
			return t, true
		}
	}
	return nil, false
}

// params returns t's params decoded, merged with its partParams: each entry, in
// order, puts the decoded JSON of its part under its paramName.
func (b *batchState) params(t *taskState) map[string]any {
	var params map[string]any
	if err := json.Unmarshal(t.params, &params); err != nil || params == nil {
		return nil // not stored: the post's checks or the seed's refuse such params
	}
	for _, pp := range t.partParams {
		var v any
		_ = json.Unmarshal(b.parts[pp.PartName], &v)
		params[pp.ParamName] = v
	}
	return params
}

// index gives the batch an ID and its tasks theirs; called before the batch is stored.
func (b *batchState) index() {
	b.id = randomHex(16)
	for _, t := range b.tasks {
		t.id = newUUID()
	}
}

func (b *batchState) taskIDs() []string {
	ids := make([]string, len(b.tasks))
	for i, t := range b.tasks {
		ids[i] = t.id
	}
	return ids
}

// expired reports whether the status endpoints no longer know the batch at now.
func (b *batchState) expired(now time.Time) bool {
	return now.After(b.postedAt.Add(batchRetention))
}

// settle applies auto-completion to the batch as of now; s.mu is held.
func (s *Server) settleBatch(b *batchState, now time.Time) {
	for _, t := range b.tasks {
		t.settle(&s.cfg, t.id, b.postedAt, now)
	}
}

// statusMessage is the task's statusMessage in the batch API.
func (t *taskState) statusMessage() string {
	switch t.stage {
	case StageRunning:
		return statusRunning
	case StageDone:
		return statusCompleted
	case StageFailed:
		return t.failure
	}
	return statusQueued
}

// summary computes the batch-level view of the tasks.
func (b *batchState) summary() (completed, errors bool, message string, completedAt time.Time) {
	completed = true
	anyStarted := false
	for _, t := range b.tasks {
		if !t.completed() {
			completed = false
		} else if t.endedAt.After(completedAt) {
			completedAt = t.endedAt
		}
		if t.failed() {
			errors = true
		}
		if t.started() {
			anyStarted = true
		}
	}
	switch {
	case completed:
		message = batchCompleted
	case anyStarted:
		message = batchStarted
	default:
		message = batchWaiting
	}
	if !completed {
		completedAt = time.Time{}
	}
	return completed, errors, message, completedAt
}

func (b *batchState) snapshot() Batch {
	out := Batch{
		ID:          b.id,
		Template:    b.template,
		Integration: deepCopyMap(b.integration),
		Parts:       copyParts(b.parts),
		PostedAt:    b.postedAt,
		Tasks:       make([]BatchTask, len(b.tasks)),
	}
	if b.embedded != nil {
		t := *b.embedded
		out.EmbeddedTemplate = &t
	}
	mapped := make(map[string]bool)
	for i, t := range b.tasks {
		for _, pp := range t.partParams {
			mapped[pp.PartName] = true
		}
		out.Tasks[i] = BatchTask{
			ID:         t.id,
			Params:     b.params(t),
			PartParams: append([]PartParam(nil), t.partParams...),
			Stage:      t.stage,
			Failure:    t.failure,
			StartedAt:  t.startedAt,
			EndedAt:    t.endedAt,
			Log:        append([]string(nil), t.log...),
			Results:    copyResults(t.results),
		}
	}
	for _, name := range sortedKeys(b.parts) {
		if !mapped[name] {
			out.UnmappedParts = append(out.UnmappedParts, name)
		}
	}
	return out
}

// Batches returns a snapshot of every batch, posted or seeded, in the order they
// were stored, expired ones included.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	out := make([]Batch, 0, len(s.batches))
	for _, b := range s.batches {
		s.settleBatch(b, now)
		out = append(out, b.snapshot())
	}
	return out
}

// Batch returns a snapshot of the batch with the given ID, expired or not.
func (s *Server) Batch(id string) (Batch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batchIndex[id]
	if !ok {
		return Batch{}, false
	}
	s.settleBatch(b, s.cfg.now())
	return b.snapshot(), true
}

// StartBatchTask marks a batch's task as running from now on, whatever it was before. It
// panics if the batch or task is unknown.
func (s *Server) StartBatchTask(batchID, taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustTask("StartBatchTask", batchID, taskID, now).start(now)
}

// CompleteBatchTask marks a batch's task as completed without errors, with the given
// result files. It panics if the batch or task is unknown, or if a result file's ID
// is empty or given twice.
func (s *Server) CompleteBatchTask(batchID, taskID string, results ...ResultFile) {
	mustResults("CompleteBatchTask", results)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustTask("CompleteBatchTask", batchID, taskID, now).finish(now, "", results)
}

// FailBatchTask marks a batch's task as completed with errors: its status message becomes
// message ("Failed" when empty) and its log gets a SEVERE entry. It panics if the
// batch or task is unknown.
func (s *Server) FailBatchTask(batchID, taskID, message string) {
	if message == "" {
		message = defaultFailure
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.mustTask("FailBatchTask", batchID, taskID, now).finish(now, message, nil)
}

// CompleteBatch completes, without errors or results, every task of the batch that is
// not completed yet. It panics if the batch is unknown.
func (s *Server) CompleteBatch(batchID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	b, ok := s.batchIndex[batchID]
	if !ok {
		panic(fmt.Sprintf("dynamotest: CompleteBatch: unknown batch %q", batchID))
	}
	s.settleBatch(b, now)
	for _, t := range b.tasks {
		if !t.completed() {
			t.finish(now, "", nil)
		}
	}
}

// mustTask finds a task for a driving method, settling its batch first; s.mu is held.
func (s *Server) mustTask(method, batchID, taskID string, now time.Time) *taskState {
	b, ok := s.batchIndex[batchID]
	if !ok {
		panic(fmt.Sprintf("dynamotest: %s: unknown batch %q", method, batchID))
	}
	s.settleBatch(b, now)
	t, ok := b.task(taskID)
	if !ok {
		panic(fmt.Sprintf("dynamotest: %s: batch %q has no task %q", method, batchID, taskID))
	}
	return t
}
