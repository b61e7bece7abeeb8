package dynamotest

import (
	"net/http"
	"time"
)

type batchStatusBody struct {
	PostDateTime      string            `json:"postDateTime"`
	Completed         bool              `json:"completed"`
	CompletedDateTime string            `json:"completedDateTime,omitempty"`
	Errors            bool              `json:"errors"`
	StatusMessage     string            `json:"statusMessage"`
	Tasks             []taskSummaryBody `json:"tasks"`
}

type taskSummaryBody struct {
	ID        string `json:"id"`
	Completed bool   `json:"completed"`
	Errors    bool   `json:"errors"`
}

// taskStatusBody is the status of a batch's task and, with StatusDescription, of a
// Task API task.
type taskStatusBody struct {
	StartDateTime     string       `json:"startDateTime,omitempty"`
	EndDateTime       string       `json:"endDateTime,omitempty"`
	Completed         bool         `json:"completed"`
	Errors            bool         `json:"errors"`
	StatusMessage     string       `json:"statusMessage"`
	StatusDescription *string      `json:"statusDescription,omitempty"`
	Log               []string     `json:"log"`
	Results           []string     `json:"results"`
	ResultList        []resultBody `json:"resultList"`
}

type resultBody struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// progressBody writes the parts of a status that both APIs share; each result's URL
// is signed at now.
func (s *Server) progressBody(p *progress, message string, now time.Time, file func(resultID string) string) taskStatusBody {
	body := taskStatusBody{
		StartDateTime: formatTime(p.startedAt),
		EndDateTime:   formatTime(p.endedAt),
		Completed:     p.completed(),
		Errors:        p.failed(),
		StatusMessage: message,
		Log:           append([]string{}, p.log...),
		Results:       make([]string, len(p.results)),
		ResultList:    make([]resultBody, len(p.results)),
	}
	for i, res := range p.results {
		body.Results[i] = res.ID
		body.ResultList[i] = resultBody{ID: res.ID, URL: s.signedURL(file(res.ID), now)}
	}
	return body
}

// liveBatch finds a batch the status endpoints still know at now; s.mu is held.
func (s *Server) liveBatch(id string, now time.Time) (*batchState, *reply) {
	b, ok := s.batchIndex[id]
	if !ok {
		return nil, errorReply(http.StatusNotFound, "batch %s not found", id)
	}
	if b.expired(now) {
		return nil, errorReply(http.StatusNotFound, "batch %s not found (expired)", id)
	}
	s.settleBatch(b, now)
	return b, nil
}

func (s *Server) batchStatus(_ *exchange, r *http.Request) *reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, rep := s.liveBatch(r.PathValue("batchId"), s.cfg.now())
	if rep != nil {
		return rep
	}
	completed, errors, message, completedAt := b.summary()
	body := batchStatusBody{
		PostDateTime:      formatTime(b.postedAt),
		Completed:         completed,
		CompletedDateTime: formatTime(completedAt),
		Errors:            errors,
		StatusMessage:     message,
		Tasks:             make([]taskSummaryBody, len(b.tasks)),
	}
	for i, t := range b.tasks {
		body.Tasks[i] = taskSummaryBody{ID: t.id, Completed: t.completed(), Errors: t.failed()}
	}
	return jsonReply(http.StatusOK, body)
}

func (s *Server) taskStatus(_ *exchange, r *http.Request) *reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	b, rep := s.liveBatch(r.PathValue("batchId"), now)
	if rep != nil {
		return rep
	}
	taskID := r.PathValue("taskId")
	t, ok := b.task(taskID)
	if !ok {
		return errorReply(http.StatusNotFound, "task %s not found in batch %s", taskID, b.id)
	}
	body := s.progressBody(&t.progress, t.statusMessage(), now, func(resultID string) string {
		return batchFilePath(b.id, t.id, resultID)
	})
	return jsonReply(http.StatusOK, body)
}

func (s *Server) getTask(_ *exchange, r *http.Request) *reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	id := r.PathValue("taskId")
	t, ok := s.singleIndex[id]
	if !ok {
		return errorReply(http.StatusNotFound, "task %s not found", id)
	}
	if t.expired(now) {
		return errorReply(http.StatusNotFound, "task %s not found (expired)", id)
	}
	s.settleSingle(t, now)
	body := s.progressBody(&t.progress, t.statusMessage(), now, func(resultID string) string {
		return taskFilePath(t.id, resultID)
	})
	desc := t.statusDescription()
	body.StatusDescription = &desc
	return jsonReply(http.StatusOK, body)
}
