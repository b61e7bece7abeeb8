package dynamotest

import (
	"encoding/json"
	"fmt"
	"time"
)

// BatchSeed describes a batch for SeedBatch to store as if it had been posted.
type BatchSeed struct {
	// Template is the template reference the batch's snapshot reports; it may be
	// empty, as the fake never reads it.
	Template string
	// Integration is the integration object, nil for none.
	Integration map[string]any
	// PostedAt is when the batch counts as posted; zero means the clock's now. A
	// PostedAt more than 24 hours back seeds an expired batch.
	PostedAt time.Time
	// Tasks are the batch's tasks: 1 to 1000.
	Tasks []BatchTaskSeed
}

// BatchTaskSeed describes one task of a BatchSeed.
type BatchTaskSeed struct {
	// Params are the task's params. Nil gives {"id": "seed-<n>"}, n counting from
	// 1; given params must hold a non-empty string "id". They are stored as the
	// fake decodes posted JSON (numbers become float64), so they must encode as
	// JSON.
	Params map[string]any
	// Stage is where the task is. A task at StagePosted is left as a post leaves it,
	// auto-completion included; any other Stage counts as driven by the test. A
	// task that has started did so at the batch's PostedAt; one that has completed,
	// at PostedAt.
	Stage Stage
	// Failure is the status message of a task at StageFailed ("Failed" when empty),
	// also logged as a SEVERE entry; it must be empty at any other Stage.
	Failure string
	// Results are the result files of a task at StageDone, and must be empty at any
	// other Stage. Each ID must be non-empty and distinct.
	Results []ResultFile
}

// TaskSeed describes a Task API task for SeedTask to store as if it had
// been posted.
type TaskSeed struct {
	// Template is the template reference the task's snapshot reports; it may be
	// empty, as the fake never reads it.
	Template string
	// Integration is the integration object, nil for a standalone task.
	Integration map[string]any
	// PostedAt is when the task counts as posted; zero means the clock's now. A
	// PostedAt more than 3 days back seeds an expired task.
	PostedAt time.Time
	// Params are the task's params. Nil gives {"id": "seed-1"} with an
	// integration, {} without; given params with an integration must hold a
	// non-empty string "id". They are stored as the fake decodes posted JSON
	// (numbers become float64), so they must encode as JSON.
	Params map[string]any
	// Stage, Failure and Results are the task's progress, as in BatchTaskSeed.
	Stage   Stage
	Failure string
	Results []ResultFile
}

// SeedBatch stores a batch in the state seed describes, without a post: nothing is
// recorded in Requests and no accept callback is called. It returns the batch's ID
// and its tasks' IDs in order. SeedBatch panics if seed is invalid (see BatchSeed and
// BatchTaskSeed).
func (s *Server) SeedBatch(seed BatchSeed) (batchID string, taskIDs []string) {
	const method = "SeedBatch"
	if n := len(seed.Tasks); n == 0 || n > maxTasks {
		panic(fmt.Sprintf("dynamotest: %s: %d tasks; a batch holds 1 to %d", method, n, maxTasks))
	}
	b := &batchState{
		template:    seed.Template,
		integration: jsonCopy(method, "Integration", seed.Integration),
	}
	for i, ts := range seed.Tasks {
		where := fmt.Sprintf("Tasks[%d]", i)
		params := seedParams(method, where, ts.Params, i+1, true)
		mustSeedProgress(method, where, ts)
		raw, err := json.Marshal(params)
		if err != nil {
			panic(fmt.Sprintf("dynamotest: %s: %s.Params: %v", method, where, err)) // seedParams made them JSON
		}
		b.tasks = append(b.tasks, &taskState{params: raw})
	}
	b.index()
	s.mu.Lock()
	defer s.mu.Unlock()
	b.postedAt = seedTime(seed.PostedAt, s.cfg.now())
	for i, t := range b.tasks {
		t.progress = seededProgress(seed.Tasks[i], b.postedAt)
	}
	s.batches = append(s.batches, b)
	s.batchIndex[b.id] = b
	return b.id, b.taskIDs()
}

// SeedTask stores a Task API task in the state seed describes, without a post:
// nothing is recorded in Requests, no accept callback is called and no usage is
// counted. It returns the task's ID. SeedTask panics if seed is invalid (see
// TaskSeed).
func (s *Server) SeedTask(seed TaskSeed) (taskID string) {
	const method = "SeedTask"
	withIntegration := seed.Integration != nil
	t := &singleState{
		id:          newTaskID(),
		template:    seed.Template,
		integration: jsonCopy(method, "Integration", seed.Integration),
		params:      seedParams(method, "TaskSeed", seed.Params, 1, withIntegration),
	}
	progress := BatchTaskSeed{Stage: seed.Stage, Failure: seed.Failure, Results: seed.Results}
	mustSeedProgress(method, "TaskSeed", progress)
	s.mu.Lock()
	defer s.mu.Unlock()
	t.postedAt = seedTime(seed.PostedAt, s.cfg.now())
	t.progress = seededProgress(progress, t.postedAt)
	s.singles = append(s.singles, t)
	s.singleIndex[t.id] = t
	return t.id
}

func seedTime(postedAt, now time.Time) time.Time {
	if postedAt.IsZero() {
		return now
	}
	return postedAt
}

// seedParams returns a seed's params as the fake would have decoded them, defaulting
// nil ones; n numbers the default record ID.
func seedParams(method, where string, params map[string]any, n int, needID bool) map[string]any {
	if params == nil {
		if !needID {
			return map[string]any{}
		}
		return map[string]any{"id": fmt.Sprintf("seed-%d", n)}
	}
	out := jsonCopy(method, where+".Params", params)
	if id, _ := out["id"].(string); needID && id == "" {
		panic(fmt.Sprintf("dynamotest: %s: %s.Params must hold a non-empty string \"id\"", method, where))
	}
	return out
}

// jsonCopy returns m as it comes back from JSON, or panics if it cannot be encoded.
func jsonCopy(method, what string, m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("dynamotest: %s: %s cannot be encoded as JSON: %v", method, what, err))
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("dynamotest: %s: %s: %v", method, what, err))
	}
	return out
}

func mustSeedProgress(method, where string, ts BatchTaskSeed) {
	switch {
	case !ts.Stage.valid():
		panic(fmt.Sprintf("dynamotest: %s: %s.Stage: unknown %v", method, where, ts.Stage))
	case ts.Failure != "" && ts.Stage != StageFailed:
		panic(fmt.Sprintf("dynamotest: %s: %s.Failure is set at %v; only a failed task has one", method, where, ts.Stage))
	case len(ts.Results) > 0 && ts.Stage != StageDone:
		panic(fmt.Sprintf("dynamotest: %s: %s.Results are set at %v; only a done task has them", method, where, ts.Stage))
	}
	mustResults(method, ts.Results)
}

// seededProgress is the progress a valid TaskSeed describes, as of postedAt.
func seededProgress(ts BatchTaskSeed, postedAt time.Time) progress {
	var p progress
	switch ts.Stage {
	case StageQueued:
		p.queue()
	case StageRunning:
		p.start(postedAt)
	case StageDone:
		p.finish(postedAt, "", ts.Results)
	case StageFailed:
		failure := ts.Failure
		if failure == "" {
			failure = defaultFailure
		}
		p.finish(postedAt, failure, nil)
	}
	return p
}
