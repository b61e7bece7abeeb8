package dynamotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

// integrationJSON is an integration object carrying session.
func integrationJSON(session string) string {
	return fmt.Sprintf(`{"type":"Salesforce","sessionID":%q,"serverURL":"https://acme.my.salesforce.com"}`, session)
}

// postEveryForm posts the session with each form of each API, and returns the
// answers by name.
func postEveryForm(h *harness, session string) map[string][2]any {
	integration := integrationJSON(session)
	tmpl := templatePart([]byte("PK template"))
	out := map[string][2]any{}
	add := func(name string, status int, body []byte) { out[name] = [2]any{status, string(body)} }
	status, body := h.postJSON(`{"template":"3242374783","tasks":[{"params":{"id":"1"}}],"integration":` + integration + `}`)
	add("batch JSON", status, body)
	status, body = h.postForm("/v1/batch", tmpl, jsonPart("data", `{"tasks":[{"params":{"id":"1"}}],"integration":`+integration+`}`))
	add("batch multipart", status, body)
	status, body = h.postTaskJSON(`{"template":"069000000000001","params":{"id":"a0B000001"},"integration":` + integration + `}`)
	add("task JSON", status, body)
	status, body = h.postForm("/v1/task", tmpl, jsonPart("data", `{"params":{"id":"a0B000001"},"integration":`+integration+`}`))
	add("task multipart", status, body)
	return out
}

func TestOrgMismatchIsRefusedOnEveryPostRoute(t *testing.T) {
	h := newHarness(t, dynamotest.WithCredentials("00D5g000004QpXyEAK", "key"))
	answers := postEveryForm(h, "00D000000000001!AQ4AQsandbox.session")
	require.Len(t, answers, 4)
	for name, a := range answers {
		require.Equal(t, http.StatusForbidden, a[0], name)
		require.Equal(t, "Given organization id doesn't match given session id", message(t, []byte(a[1].(string))), name)
		require.NotContains(t, a[1], "sandbox.session", "%s: the session is not echoed", name)
	}
	require.Empty(t, h.s.Batches())
	require.Empty(t, h.s.Tasks())
	for _, r := range h.s.Requests() {
		require.Equal(t, http.StatusForbidden, r.Status, r.Path)
	}
}

func TestOrgCheckAcceptsWhatNamesNoOtherOrg(t *testing.T) {
	for _, tt := range []struct{ name, tenant, session string }{
		{"the same org, 15 against 18 characters", "00D5g000004QpXyEAK", "00D5g000004QpXy!AQ4AQsession"},
		{"a session that names no org", "00D5g000004QpXyEAK", "sess-secret"},
		{"a session with a short org part", "00D5g000004QpXyEAK", "00Dsession!ABCDEFGHIJ"},
		{"a tenant that is not an org ID", "tenant", "00D000000000001!AQ4AQsession"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, dynamotest.WithCredentials(tt.tenant, "key"))
			for name, a := range postEveryForm(h, tt.session) {
				require.Equal(t, http.StatusAccepted, a[0], "%s: %s", name, a[1])
			}
		})
	}
}

// sessionFakes starts a login host and a Server that judges its sessions, on one
// clock.
func sessionFakes(t *testing.T, opts ...dynamotest.ServerOption) (*harness, *dynamotest.Salesforce, *fakeClock) {
	t.Helper()
	clock := newClock()
	sf := newSalesforce(t, clock)
	all := append([]dynamotest.ServerOption{dynamotest.WithClock(clock.Now), dynamotest.WithSalesforce(sf)}, opts...)
	return newHarness(t, all...), sf, clock
}

// postBatchWith posts a one-task batch carrying session and returns its IDs.
func postBatchWith(t *testing.T, h *harness, session string) (batchID, taskID string) {
	t.Helper()
	status, body := h.postJSON(`{"template":"3242374783","tasks":[{"params":{"id":"1"}}],"integration":` + integrationJSON(session) + `}`)
	require.Equal(t, http.StatusAccepted, status, "body %s", body)
	var a accepted
	require.NoError(t, json.Unmarshal(body, &a))
	return a.ID, a.Tasks[0]
}

// postTaskWith posts a Task API task carrying session and returns its ID.
func postTaskWith(t *testing.T, h *harness, session string) string {
	t.Helper()
	return h.mustPostTask(`{"template":"069000000000001","params":{"id":"a0B000001"},"integration":` + integrationJSON(session) + `}`).TaskID
}

func requireInvalidSession(t *testing.T, status map[string]any) {
	t.Helper()
	require.Equal(t, true, status["completed"], "status %v", status)
	require.Equal(t, true, status["errors"], "status %v", status)
	log, _ := json.Marshal(status["log"])
	require.Contains(t, string(log), "INVALID_SESSION_ID", "the log says why, as Salesforce's answer does")
}

func TestExpiredSessionFailsTheBatchTask(t *testing.T) {
	h, sf, clock := sessionFakes(t)
	session := mintJWTSession(t, sf, clock.Now())
	batchID, taskID := postBatchWith(t, h, session)

	clock.Advance(2*time.Hour + time.Second)
	h.s.StartBatchTask(batchID, taskID)

	status, st := h.get("/v1/batch/" + batchID + "/" + taskID)
	require.Equal(t, http.StatusOK, status)
	requireInvalidSession(t, st)
	_, batch := h.get("/v1/batch/" + batchID)
	require.Equal(t, true, batch["errors"])
	snap, _ := h.s.Batch(batchID)
	require.Equal(t, dynamotest.StageFailed, snap.Tasks[0].Stage)
	require.Equal(t, []string{"SEVERE INVALID_SESSION_ID: Session expired or invalid"}, snap.Tasks[0].Log)
}

func TestExpiredSessionFailsTheTaskAPITask(t *testing.T) {
	h, sf, clock := sessionFakes(t)
	session := mintJWTSession(t, sf, clock.Now())
	taskID := postTaskWith(t, h, session)

	clock.Advance(3 * time.Hour)
	h.s.CompleteTask(taskID, dynamotest.ResultFile{ID: "Profile", Content: []byte("%PDF")})

	status, st := h.get("/v1/task/" + taskID)
	require.Equal(t, http.StatusOK, status)
	requireInvalidSession(t, st)
	require.Empty(t, st["resultList"], "a task that could not read its record has no results")
}

func TestLiveSessionRunsTheTaskAndCountsAsAUse(t *testing.T) {
	h, sf, clock := sessionFakes(t)
	session := mintJWTSession(t, sf, clock.Now())
	batchID, batchTask := postBatchWith(t, h, session)
	taskID := postTaskWith(t, h, session)

	clock.Advance(2*time.Hour - time.Second)
	h.s.StartBatchTask(batchID, batchTask)
	s, _ := sf.Session(session)
	require.Equal(t, clock.Now(), s.LastUsed, "the run used the session")

	clock.Advance(2*time.Hour - time.Second)
	h.s.StartTask(taskID)
	h.s.CompleteTask(taskID)
	h.s.CompleteBatchTask(batchID, batchTask)
	_, st := h.get("/v1/task/" + taskID)
	require.Equal(t, false, st["errors"], "live: the earlier run kept it so")
	require.Equal(t, "Ready", st["statusMessage"])
	_, bt := h.get("/v1/batch/" + batchID + "/" + batchTask)
	require.Equal(t, "Completed", bt["statusMessage"])
}

func TestAutoCompletedTaskUsesItsSessionWhenDue(t *testing.T) {
	h, sf, clock := sessionFakes(t, dynamotest.WithAutoComplete(3*time.Hour))
	session := mintJWTSession(t, sf, clock.Now())
	batchID, taskID := postBatchWith(t, h, session)
	single := postTaskWith(t, h, session)
	clock.Advance(90 * time.Minute)
	require.True(t, sf.UseSession(session))
	clock.Advance(90 * time.Minute)
	other := mintJWTSession(t, sf, clock.Now())
	unused := postTaskWith(t, h, other)
	clock.Advance(3 * time.Hour)

	// Both tasks of the first session were due at 3h, 90 minutes after its last
	// use: they ran, though they are read 3 hours later.
	_, bt := h.get("/v1/batch/" + batchID + "/" + taskID)
	require.Equal(t, "Completed", bt["statusMessage"], "status %v", bt)
	_, st := h.get("/v1/task/" + single)
	require.Equal(t, "Ready", st["statusMessage"], "status %v", st)
	// The other session went unused from its issue until its task was due.
	_, st = h.get("/v1/task/" + unused)
	requireInvalidSession(t, st)
	s, _ := sf.Session(session)
	require.Equal(t, clock.Now().Add(-3*time.Hour), s.LastUsed, "the runs used the session when they were due")
}

func TestSessionNotIssuedByTheLoginHostFailsTheTask(t *testing.T) {
	h, sf, _ := sessionFakes(t)
	taskID := postTaskWith(t, h, sf.OrgID[:15]+"!AQ4AQnot.issued.here")
	h.s.StartTask(taskID)
	_, st := h.get("/v1/task/" + taskID)
	requireInvalidSession(t, st)
	require.True(t, strings.HasPrefix(st["statusMessage"].(string), "INVALID_SESSION_ID"))
}
