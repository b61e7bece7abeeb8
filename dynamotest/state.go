package dynamotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

const (
	statusQueued    = "Queued"
	statusRunning   = "Running"
	statusCompleted = "Completed"

	batchWaiting   = "Waiting"
	batchStarted   = "Started"
	batchCompleted = "Completed"
)

// batchState is a posted batch; every access holds Server.mu.
type batchState struct {
	id          string
	template    string
	embedded    *TemplateInfo
	integration map[string]any
	postedAt    time.Time
	tasks       []*taskState
	byID        map[string]*taskState
}

// taskState is one task of a batchState.
type taskState struct {
	id            string
	params        map[string]any
	partParams    []PartParam
	driven        bool // set once the test or auto-completion decided the task's state
	started       bool
	completed     bool
	errors        bool
	statusMessage string
	startedAt     time.Time
	endedAt       time.Time
	log           []string
	results       []ResultFile
}

func (b *batchState) task(id string) (*taskState, bool) {
	t, ok := b.byID[id]
	return t, ok
}

// expired reports whether the status endpoints no longer know the batch at now.
func (b *batchState) expired(now time.Time) bool {
	return now.After(b.postedAt.Add(retention))
}

// finish marks the task as completed at now.
func (t *taskState) finish(now time.Time, failed bool, message string) {
	t.driven = true
	if !t.started || t.startedAt.IsZero() {
		t.started = true
		t.startedAt = now
	}
	t.completed = true
	t.errors = failed
	t.statusMessage = message
	t.endedAt = now
}

// settle applies auto-completion to the batch as of now; s.mu is held.
func (s *Server) settle(b *batchState, now time.Time) {
	d := s.cfg.autoComplete
	if d <= 0 {
		return
	}
	end := b.postedAt.Add(d)
	if now.Before(end) {
		return
	}
	for _, t := range b.tasks {
		if t.driven {
			continue
		}
		t.driven = true
		t.started = true
		t.completed = true
		t.errors = false
		t.statusMessage = statusCompleted
		t.startedAt = b.postedAt
		t.endedAt = end
		t.results = nil
		for _, id := range s.cfg.resultIDs {
			t.results = append(t.results, ResultFile{
				ID:      id,
				Content: []byte(fmt.Sprintf("result %s of task %s", id, t.id)),
			})
		}
	}
}

// summary computes the batch-level view of the tasks.
func (b *batchState) summary() (completed, errors bool, message string, completedAt time.Time) {
	completed = true
	anyStarted := false
	for _, t := range b.tasks {
		if !t.completed {
			completed = false
		} else if t.endedAt.After(completedAt) {
			completedAt = t.endedAt
		}
		if t.errors {
			errors = true
		}
		if t.started || t.completed {
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
		ID:       b.id,
		Template: b.template,
		PostedAt: b.postedAt,
		Tasks:    make([]Task, len(b.tasks)),
	}
	if b.embedded != nil {
		t := *b.embedded
		out.EmbeddedTemplate = &t
	}
	if b.integration != nil {
		out.Integration = deepCopyMap(b.integration)
	}
	for i, t := range b.tasks {
		out.Tasks[i] = Task{
			ID:            t.id,
			Params:        deepCopyMap(t.params),
			PartParams:    append([]PartParam(nil), t.partParams...),
			Started:       t.started,
			Completed:     t.completed,
			Errors:        t.errors,
			StatusMessage: t.statusMessage,
			StartedAt:     t.startedAt,
			EndedAt:       t.endedAt,
			Log:           append([]string(nil), t.log...),
			Results:       copyResults(t.results),
		}
	}
	return out
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}

// randomHex returns n random bytes as 2n lowercase hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("dynamotest: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("dynamotest: reading random bytes: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
