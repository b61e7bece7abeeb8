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
	sf := newFakeLogin(t)
	srv, client := newDynamo(t, dynamotest.WithSalesforce(sf.Salesforce))
	w := newWire(t)
	src := &enteringSource{src: jwtFrom(t, sf, w), n: posts, all: make(chan struct{})}
	// The token request is sent only once every post waits for a
	// session: all 64 are then callers of the one mint.
	w.hold = func() {
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
	require.Equal(t, 1, sf.TokenRequests(), "one token request for %d posts", posts)
	batches := srv.Batches()
	require.Len(t, batches, posts)
	for _, b := range batches {
		assert.Equal(t, w.Tokens()[0], b.Integration["sessionID"])
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

// A bulk run of 13 chunks, one an hour, against the fake Dynamo and the fake
// login host on one clock, sessions timing out after 30 minutes unused: each
// chunk carries a session younger than the maximum age, and every task runs
// (a minute after its post) with a live session. A session fixed at the
// start fails every task but the first with INVALID_SESSION_ID.
func TestPostBulkOverTwelveHoursPostsFreshSessions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		source func(*fakeLogin, *fakeClock, *wire) dynamo.SessionSource
		maxAge time.Duration
		mints  int
		failed int
	}{
		{"default maximum age", func(sf *fakeLogin, c *fakeClock, w *wire) dynamo.SessionSource {
			return ccFrom(t, sf, w, c.option())
		}, 10 * time.Minute, 13, 0},
		{"20 minutes", func(sf *fakeLogin, c *fakeClock, w *wire) dynamo.SessionSource {
			return ccFrom(t, sf, w, c.option(), salesforce.WithMaxAge(20*time.Minute))
		}, 20 * time.Minute, 13, 0},
		{"a fixed session", func(sf *fakeLogin, c *fakeClock, w *wire) dynamo.SessionSource {
			s, err := ccFrom(t, sf, w, c.option()).Session(context.Background())
			require.NoError(t, err)
			fixed, err := salesforce.Fixed(s)
			require.NoError(t, err)
			return fixed
		}, 13 * time.Hour, 1, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			sf := newFakeLogin(t, dynamotest.WithSalesforceClock(clock.Now), dynamotest.WithSessionTimeout(30*time.Minute))
			type post struct {
				batch, session string
				at             time.Time
			}
			var mu sync.Mutex
			var posts []post
			// Each accepted chunk moves the clock an hour on: 13 chunks
			// span 12 hours.
			srv, client := newDynamo(t, dynamotest.WithClock(clock.Now), dynamotest.WithSalesforce(sf.Salesforce), dynamotest.WithAutoComplete(time.Minute),
				dynamotest.WithOnAccept(func(a dynamotest.Accepted) {
					mu.Lock()
					defer mu.Unlock()
					posts = append(posts, post{a.Batch.ID, a.Batch.Integration["sessionID"].(string), clock.Now()})
					clock.Advance(time.Hour)
				}))
			w := newWire(t)
			seen := &firstSeen{src: tc.source(sf, clock, w), clock: clock, at: map[string]time.Time{}}
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
			failed := 0
			for i, p := range posts {
				minted, ok := seen.at[p.session]
				require.True(t, ok, "chunk %d carries a session the source gave", i)
				assert.Less(t, p.at.Sub(minted), tc.maxAge, "chunk %d's session is younger than the maximum age", i)
				b, ok := srv.Batch(p.batch) // its task ran a minute after the post
				require.True(t, ok)
				switch b.Tasks[0].Stage {
				case dynamotest.StageDone:
				case dynamotest.StageFailed:
					failed++
					assert.Contains(t, b.Tasks[0].Log, "SEVERE INVALID_SESSION_ID: Session expired or invalid")
				default:
					t.Errorf("chunk %d's task did not run: %v", i, b.Tasks[0].Stage)
				}
			}
			assert.Equal(t, tc.failed, failed, "tasks failed for their session")
			assert.Equal(t, tc.mints, sf.TokenRequests(), "token requests")
			assert.Len(t, seen.at, tc.mints, "distinct sessions")
		})
	}
}

// ccFrom is a client credentials source against the fake login host,
// through w.
func ccFrom(t *testing.T, sf *fakeLogin, w *wire, opts ...salesforce.Option) *salesforce.Source {
	t.Helper()
	src, err := salesforce.ClientCredentials(salesforce.ClientCredentialsConfig{ClientID: ccClientID, ClientSecret: testClientSecret, LoginURL: sf.URL}, append([]salesforce.Option{w.option()}, opts...)...)
	require.NoError(t, err)
	return src
}

func TestOrgMismatchRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	// The tenant is another org than the one the login host issues
	// sessions of.
	srv := dynamotest.NewServer(dynamotest.WithCredentials("00D000000000001AAA", testAPIKey))
	t.Cleanup(srv.Close)
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	sf := newFakeLogin(t)
	w := newWire(t)
	_, err := client.PostTask(context.Background(), &dynamo.TaskRequest{Template: "tmpl", Params: dynamo.Params{"id": "a01"}, Integration: dynamo.SalesforceFrom(jwtFrom(t, sf, w))})
	var ve *dynamo.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), testOrg)
	assert.Contains(t, err.Error(), "00D000000000001")
	assert.Empty(t, srv.Requests(), "nothing was posted")
	assertNoSecret(t, "error", err, w.Tokens()...)
}

func TestTokenRefusalStopsThePost(t *testing.T) {
	t.Parallel()
	sf := newFakeLogin(t)
	sf.RefuseUser(testUsername)
	srv, client := newDynamo(t)
	_, err := client.PostBatch(context.Background(), &dynamo.Batch{Template: "tmpl", Tasks: []dynamo.Task{{Params: dynamo.Params{"id": "a01"}}}, Integration: dynamo.SalesforceFrom(jwtFrom(t, sf, newWire(t)))})
	assert.ErrorIs(t, err, dynamo.ErrNoSession)
	var te *salesforce.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "invalid_grant", te.Code)
	assert.Contains(t, err.Error(), "user hasn't approved this consumer")
	assert.Empty(t, srv.Requests())
}
