package salesforce_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
	"github.com/dynamokit/dynamo/salesforce"
)

const testAPIKey = "APIKEY-s3cr3t-Zx3Cv6Bn9Ml2"

// newDynamo starts a fake Dynamo of the test org's tenant.
func newDynamo(t *testing.T, opts ...dynamotest.ServerOption) (*dynamotest.Server, *dynamo.Client) {
	t.Helper()
	srv := dynamotest.NewServer(append([]dynamotest.ServerOption{dynamotest.WithCredentials(testOrg18, testAPIKey)}, opts...)...)
	t.Cleanup(srv.Close)
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	return srv, client
}

// enteringSource counts the callers that entered src's Session, and
// closes all once n have.
type enteringSource struct {
	src     dynamo.SessionSource
	n       int32
	entered atomic.Int32
	all     chan struct{}
}

func (s *enteringSource) Session(ctx context.Context) (dynamo.Session, error) {
	if s.entered.Add(1) == s.n {
		close(s.all)
	}
	return s.src.Session(ctx)
}

func TestConcurrentPostsShareOneTokenRequest(t *testing.T) {
	t.Parallel()
	const posts = 64
	srv, client := newDynamo(t)
	e := newTokenEndpoint(t)
	src := &enteringSource{src: jwtSource(t, e), n: posts, all: make(chan struct{})}
	// The token endpoint answers only once every post waits for a
	// session: all 64 are then callers of the one mint.
	e.before = func() {
		select {
		case <-src.all:
		case <-time.After(30 * time.Second):
			t.Error("not every post asked for a session")
		}
	}
	in := dynamo.SalesforceFrom(src)
	var wg sync.WaitGroup
	for i := range posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Integration: in,
				Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "a0" + string(rune('A'+i%26))}}}})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Len(t, e.Requests(), 1, "one token request for %d posts", posts)
	batches := srv.Batches()
	require.Len(t, batches, posts)
	for _, b := range batches {
		assert.Equal(t, e.Issued()[0], b.Integration["sessionID"])
		assert.Equal(t, testInstanceURL, b.Integration["serverURL"])
	}
}

// firstSeen records when each session was first given: the time it was
// minted, on a clock that moves only between posts.
type firstSeen struct {
	src   dynamo.SessionSource
	clock *fakeClock
	mu    sync.Mutex
	at    map[string]time.Time
}

func (s *firstSeen) Session(ctx context.Context) (dynamo.Session, error) {
	sess, err := s.src.Session(ctx)
	if err == nil {
		s.mu.Lock()
		if _, ok := s.at[sess.ID]; !ok {
			s.at[sess.ID] = s.clock.Now()
		}
		s.mu.Unlock()
	}
	return sess, err
}

func TestPostBulkOverTwelveHoursPostsFreshSessions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []salesforce.Option
		maxAge time.Duration
		mints  int
	}{
		{"default maximum age", nil, 10 * time.Minute, 13},
		{"90 minutes", []salesforce.Option{salesforce.WithMaxAge(90 * time.Minute)}, 90 * time.Minute, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			type post struct {
				session string
				at      time.Time
			}
			var mu sync.Mutex
			var posts []post
			// Each accepted chunk moves the clock an hour on: 13 chunks
			// span 12 hours.
			srv, client := newDynamo(t, dynamotest.WithOnAccept(func(a dynamotest.Accepted) {
				mu.Lock()
				defer mu.Unlock()
				posts = append(posts, post{a.Batch.Integration["sessionID"].(string), clock.Now()})
				clock.Advance(time.Hour)
			}))
			e := newTokenEndpoint(t)
			seen := &firstSeen{src: jwtSource(t, e, append(tc.opts, clock.option())...), clock: clock, at: map[string]time.Time{}}
			tasks := make([]dynamo.Task, 13)
			for i := range tasks {
				tasks[i] = dynamo.Task{Params: dynamo.Params{"id": "a01" + string(rune('a'+i))}}
			}
			rep, err := client.PostBulk(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: tasks, Integration: dynamo.SalesforceFrom(seen)},
				dynamo.WithChunkSize(1), dynamo.WithBulkConcurrency(1))
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			require.Len(t, posts, 13)
			assert.Equal(t, 12*time.Hour, posts[12].at.Sub(posts[0].at), "the run spans 12 hours")
			for i, p := range posts {
				minted, ok := seen.at[p.session]
				require.True(t, ok, "chunk %d carries a session the source gave", i)
				assert.Less(t, p.at.Sub(minted), tc.maxAge, "chunk %d's session is younger than the maximum age", i)
			}
			assert.Len(t, e.Requests(), tc.mints, "token requests")
			assert.Len(t, seen.at, tc.mints, "distinct sessions")
			assert.Len(t, srv.Batches(), 13)
		})
	}
}

func TestOrgMismatchRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	// The tenant is another org than the one the endpoint issues sessions of.
	srv := dynamotest.NewServer(dynamotest.WithCredentials("00D000000000001AAA", testAPIKey))
	t.Cleanup(srv.Close)
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	e := newTokenEndpoint(t)
	_, err := client.PostTask(context.Background(), &dynamo.TaskRequest{Template: "tmpl", Params: dynamo.Params{"id": "a01"}, Integration: dynamo.SalesforceFrom(jwtSource(t, e))})
	var ve *dynamo.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), testOrg)
	assert.Contains(t, err.Error(), "00D000000000001")
	assert.Empty(t, srv.Requests(), "nothing was posted")
	assertNoSecret(t, "error", err, e.Issued()...)
}

func TestTokenRefusalStopsThePost(t *testing.T) {
	t.Parallel()
	srv, client := newDynamo(t)
	e := newTokenEndpoint(t)
	e.Refuse("invalid_grant", "user hasn't approved this consumer")
	_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "a01"}}}, Integration: dynamo.SalesforceFrom(jwtSource(t, e))})
	assert.ErrorIs(t, err, dynamo.ErrNoSession)
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "invalid_grant", te.Code)
	assert.Contains(t, err.Error(), "user hasn't approved this consumer")
	assert.Empty(t, srv.Requests())
}
