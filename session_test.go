package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

// testSource is a SessionSource that gives a new session on each call,
// testSourceSession and the call's number (or, with org set, that org's
// session), and records the calls.
type testSource struct {
	org string // the org of the sessions given, or "" for no org
	err error  // the error to fail with, when set

	mu    sync.Mutex
	given []string
}

func (s *testSource) Session(ctx context.Context) (dynamo.Session, error) {
	if err := ctx.Err(); err != nil {
		return dynamo.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		s.given = append(s.given, "")
		return dynamo.Session{}, s.err
	}
	id := fmt.Sprintf("%s-%03d", testSourceSession, len(s.given)+1)
	if s.org != "" {
		id = s.org + "!" + id
	}
	s.given = append(s.given, id)
	return dynamo.Session{ID: id, ServerURL: testServerURL}, nil
}

// Given returns the sessions given so far, in order ("" for a failure).
func (s *testSource) Given() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.given...)
}

// postCall is one of the four posts, or a PostBulk, carrying in.
type postCall struct {
	name string
	post func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error
}

var dap = dynamo.TemplateFromBytes("t.dap", []byte("DAP"))

func postCalls() []postCall {
	return []postCall{
		{"PostBatch", func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error {
			_, err := c.PostBatch(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(2), Integration: in})
			return err
		}},
		{"PostBatchWithTemplate", func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error {
			_, err := c.PostBatchWithTemplate(ctx, dap, &dynamo.Batch{Tasks: records(2), Integration: in})
			return err
		}},
		{"PostTask", func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error {
			_, err := c.PostTask(ctx, &dynamo.TaskRequest{Template: "tmpl", Params: dynamo.Params{"id": "a01"}, Integration: in})
			return err
		}},
		{"PostTaskWithTemplate", func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error {
			_, err := c.PostTaskWithTemplate(ctx, dap, &dynamo.TaskRequest{Params: dynamo.Params{"id": "a01"}, Integration: in})
			return err
		}},
		{"PostBulk", func(ctx context.Context, c *dynamo.Client, in *dynamo.Integration) error {
			rep, err := c.PostBulk(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(3), Integration: in}, dynamo.WithChunkSize(2))
			if err != nil {
				return err
			}
			return rep.Err()
		}},
	}
}

// sessionsSent returns the session ID of every post the fake received, in
// order of arrival, "" for a post without one.
func sessionsSent(t *testing.T, srv *dynamotest.Server) []string {
	t.Helper()
	var ids []string
	for _, r := range srv.Requests() {
		if r.Method != "POST" {
			continue
		}
		var body struct {
			Integration struct {
				SessionID string `json:"sessionID"`
				ServerURL string `json:"serverURL"`
			} `json:"integration"`
		}
		if len(r.JSON) > 0 {
			require.NoError(t, json.Unmarshal(r.JSON, &body))
			assert.Equal(t, testServerURL, body.Integration.ServerURL, "server URL of %s", r.Path)
		}
		ids = append(ids, body.Integration.SessionID)
	}
	return ids
}

func TestSessionSourceAskedOncePerPost(t *testing.T) {
	t.Parallel()
	for _, call := range postCalls() {
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			srv, client, _ := newFake(t)
			src := &testSource{}
			in := dynamo.SalesforceFrom(src)
			require.NoError(t, call.post(context.Background(), client, in))
			require.NoError(t, call.post(context.Background(), client, in))
			given := src.Given()
			// Each post (each chunk of a bulk run: two of them) asks once,
			// and carries the session it was given.
			want := 2
			if call.name == "PostBulk" {
				want = 4
			}
			require.Len(t, given, want)
			assert.ElementsMatch(t, given, sessionsSent(t, srv), "the sessions posted are those given, one each")
			assert.Empty(t, in.SessionID, "the integration keeps no session")
		})
	}
}

func TestSessionSourceNotAskedAgainForARetry(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 503})
	src := &testSource{}
	_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(src)})
	require.NoError(t, err)
	assert.Equal(t, 2, requestsTo(srv, "POST"), "the post was retried")
	require.Len(t, src.Given(), 1, "one post, one session")
	assert.Equal(t, src.Given(), sessionsSent(t, srv)[1:], "the retry carries the post's session")
}

func TestSessionSourceErrorStopsPost(t *testing.T) {
	t.Parallel()
	refusal := errors.New("token endpoint refused: invalid_grant")
	for _, call := range postCalls() {
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			srv, client, _ := newFake(t)
			err := failed(t, call.post(context.Background(), client, dynamo.SalesforceFrom(&testSource{err: refusal})))
			assert.ErrorIs(t, err, dynamo.ErrNoSession)
			assert.ErrorIs(t, err, refusal, "the source's error is wrapped")
			assert.NotErrorIs(t, err, dynamo.ErrOutcomeUnknown, "nothing was sent")
			var se *dynamo.SessionError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "POST", se.Method)
			assert.Contains(t, se.Error(), "invalid_grant")
			assert.Contains(t, se.Error(), "Salesforce session")
			assert.Empty(t, srv.Requests(), "nothing reached the server")
		})
	}
	t.Run("context done", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := client.PostBatch(ctx, &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(&testSource{})})
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, dynamo.ErrNoSession)
		assert.Empty(t, srv.Requests())
	})
	t.Run("empty session", func(t *testing.T) {
		t.Parallel()
		srv, client, _ := newFake(t)
		_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(emptySource{})})
		assert.ErrorIs(t, err, dynamo.ErrNoSession)
		assert.ErrorContains(t, err, "without an ID")
		assert.Empty(t, srv.Requests())
	})
}

type emptySource struct{}

func (emptySource) Session(context.Context) (dynamo.Session, error) {
	return dynamo.Session{ServerURL: testServerURL}, nil
}

func TestSessionSourceNilIsInvalid(t *testing.T) {
	t.Parallel()
	b := &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(nil)}
	var ve *dynamo.ValidationError
	require.ErrorAs(t, b.Validate(), &ve)
	assert.Equal(t, "integration", ve.Problems[0].Field)
	assert.NoError(t, (&dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(&testSource{})}).Validate(),
		"a source's session is checked when it is given")
}

func TestSessionSourceControlCharactersRefused(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(crlfSource{})})
	var ve *dynamo.ValidationError
	require.ErrorAs(t, failed(t, err), &ve)
	assert.Equal(t, "integration.sessionID", ve.Problems[0].Field)
	assert.Empty(t, srv.Requests())
}

type crlfSource struct{}

func (crlfSource) Session(context.Context) (dynamo.Session, error) {
	return dynamo.Session{ID: testSourceSession + "\r\nX-Injected: 1", ServerURL: testServerURL}, nil
}

// The tenant's org is testTenantID's first 15 characters; otherOrg is
// another.
const (
	tenantOrg = "00D5g000004QpXy"
	otherOrg  = "00D5g000004QpXz"
)

func TestSessionOrgMismatchRefusedBeforeNetwork(t *testing.T) {
	t.Parallel()
	for _, call := range postCalls() {
		for _, kind := range []string{"fixed", "source"} {
			t.Run(call.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				srv, client, _ := newFake(t)
				in := dynamo.Salesforce(otherOrg+"!"+testSourceSession, testServerURL)
				if kind == "source" {
					in = dynamo.SalesforceFrom(&testSource{org: otherOrg})
				}
				err := failed(t, call.post(context.Background(), client, in))
				var ve *dynamo.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Len(t, ve.Problems, 1)
				assert.Equal(t, "integration.sessionID", ve.Problems[0].Field)
				assert.Contains(t, ve.Error(), otherOrg, "names the session's org")
				assert.Contains(t, ve.Error(), tenantOrg, "names the tenant's org")
				assert.Empty(t, srv.Requests(), "nothing reached the server")
			})
		}
	}
}

func TestSessionOrgCompared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tenant, session string
		refused               bool
	}{
		{"18-character tenant, its org's session", testTenantID, tenantOrg + "!AQ4AQ", false},
		{"15-character tenant, its org's session", tenantOrg, tenantOrg + "!AQ4AQ", false},
		{"another org", testTenantID, otherOrg + "!AQ4AQ", true},
		{"15-character tenant, another org", tenantOrg, otherOrg + "!AQ4AQ", true},
		{"differs in case only", testTenantID, "00D5g000004qPxY!AQ4AQ", true},
		{"tenant not an org ID", "acme-tenant", otherOrg + "!AQ4AQ", false},
		{"tenant of 16 characters", tenantOrg + "X", otherOrg + "!AQ4AQ", false},
		{"session names no org", testTenantID, testSessionID, false},
		{"session's org not followed by !", testTenantID, otherOrg + "AQ4AQ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dynamotest.NewServer(dynamotest.WithCredentials(tc.tenant, testAPIKey))
			t.Cleanup(srv.Close)
			_, err := srv.Client().PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.Salesforce(tc.session, testServerURL)})
			if tc.refused {
				var ve *dynamo.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Empty(t, srv.Requests())
				return
			}
			require.NoError(t, err)
			assert.Len(t, srv.Batches(), 1)
		})
	}
}

func TestSessionOrgMismatchListedWithOtherProblems(t *testing.T) {
	t.Parallel()
	_, client, _ := newFake(t)
	b := &dynamo.Batch{Template: "tmpl", Tasks: []dynamo.Task{{Params: dynamo.Params{}}}, Integration: dynamo.Salesforce(otherOrg+"!AQ4AQ", testServerURL)}
	_, err := client.PostBatch(context.Background(), b)
	var ve *dynamo.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	assert.ElementsMatch(t, []string{"tasks[0].params.id", "integration.sessionID"}, fields)
}

func TestSessionSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	s := dynamo.Session{ID: testSourceSession, ServerURL: testServerURL}
	src := dynamo.SalesforceFrom(&testSource{})
	for name, v := range map[string]any{
		"Session":                 s,
		"*Session":                &s,
		"Integration from source": src,
		"Batch with a source":     &dynamo.Batch{Template: "t", Tasks: records(1), Integration: src},
		"SessionError":            &dynamo.SessionError{Method: "POST", Path: "/v1/batch", Err: errors.New("no")},
	} {
		assertPrintsNoSecrets(t, name, v)
	}
	assert.Contains(t, fmt.Sprint(s), testServerURL)
	assert.Contains(t, fmt.Sprintf("%#v", s), "[REDACTED]")
	assert.Contains(t, fmt.Sprint(src), "from its source")
}

// A server that echoes a source's session in its refusal does not make the
// error, or the log, show it.
func TestSessionSourceNotEchoedBack(t *testing.T) {
	t.Parallel()
	for _, call := range postCalls() {
		// "escaped body": in "escaped", the headers come first and the
		// session lies past what an error's message keeps (in a multipart
		// post's body too, so only the JSON posts test the decoded form).
		for _, form := range []string{"json", "text", "escaped", "escaped body"} {
			t.Run(call.name+"/"+form, func(t *testing.T) {
				t.Parallel()
				client, mux, _ := setup(t, dynamo.WithMaxRetries(0))
				mux.Handle("/", echoHandler(t, 400, form))
				src := &testSource{}
				err := failed(t, call.post(context.Background(), client, dynamo.SalesforceFrom(src)))
				assert.NotEmpty(t, src.Given())
				if call.name != "PostBulk" {
					var apiErr *dynamo.APIError
					require.ErrorAs(t, err, &apiErr)
					assert.NotEmpty(t, apiErr.Message)
				}
			})
		}
	}
}

// A source whose error shows a session (its own, or one it was refused)
// does not make the post's error show it: what looks like a session, an
// org ID, "!" and the rest, is removed from the source's text.
func TestSessionSourceErrorShowsNoSession(t *testing.T) {
	t.Parallel()
	const shown = "00D5g000004QpXy!AQ8AQ.leaked_session-ID"
	srv, client, _ := newFake(t)
	refusal := fmt.Errorf("session %s expired; renew %q", shown, shown)
	_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: records(1), Integration: dynamo.SalesforceFrom(&testSource{err: refusal})})
	require.ErrorIs(t, err, refusal)
	for _, verb := range []string{"%v", "%+v", "%s", "%q"} {
		text := fmt.Sprintf(verb, err)
		assert.NotContains(t, text, "AQ8AQ.leaked", verb)
		assert.Contains(t, text, "expired; renew", verb)
	}
	assert.Empty(t, srv.Requests())
}
