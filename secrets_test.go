package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	client, _, logs := setup(t)
	in := dynamo.Salesforce(testSessionID, testServerURL)
	b := salesforceBatch(2)
	embedded := embeddedSalesforceBatch(1)
	embedded.Parts = []dynamo.Part{{Name: "extra", Value: map[string]any{"k": "v"}}}
	values := map[string]any{
		"Client":          client,
		"*Client":         &client,
		"Integration":     *in,
		"*Integration":    in,
		"Batch":           *b,
		"*Batch":          b,
		"embedded *Batch": embedded,
		"[]*Integration":  []*dynamo.Integration{in},
		"map":             map[string]any{"batch": b, "integration": *in},
		"TaskRequest":     *salesforceTask(),
		"*TaskRequest":    salesforceTask(),
		"Result":          dynamo.Result{ID: "r", URL: "https://bucket.example.com/r.pdf?" + signedQuery},
		"*TaskStatus":     &dynamo.TaskStatus{ResultList: []dynamo.Result{{ID: "r", URL: "https://bucket.example.com/r.pdf?" + signedQuery}}},
	}
	for name, v := range values {
		assertPrintsNoSecrets(t, name, v)
		data, err := json.Marshal(v)
		if err == nil && !strings.Contains(name, "Result") && !strings.Contains(name, "TaskStatus") {
			// JSON keeps a result URL whole: it is how the URL is handed on.
			assertNoSecrets(t, name+" encoded as JSON", string(data))
		}
		logs.Logger().Debug("value", "v", v)
	}
	// What is printed still says what the values are.
	assert.Contains(t, fmt.Sprint(in), testServerURL)
	assert.Contains(t, fmt.Sprintf("%+v", b), "[REDACTED]")
	assert.Contains(t, fmt.Sprint(client), testTenantID)
	assertNoSecrets(t, "log", logs.Text())
}

func TestSecretsReachOnlyTheAPI(t *testing.T) {
	t.Parallel()
	srv, client, _ := newFake(t)
	resp, err := client.PostBatch(context.Background(), salesforceBatch(1))
	require.NoError(t, err)
	_, err = client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), embeddedSalesforceBatch(1))
	require.NoError(t, err)
	for _, r := range srv.Requests() {
		assert.True(t, r.HasAPIKey, "%s %s carries the key", r.Method, r.Path)
	}
	batches := srv.Batches()
	require.Len(t, batches, 2)
	for _, b := range batches {
		assert.Equal(t, testSessionID, b.Integration["sessionID"], "the API receives the session")
	}
	assert.Equal(t, batches[0].ID, resp.ID)
}

// echoHandler answers status with a body that repeats the request: every
// header, the API key included, and the body, which holds the session. form
// says how.
func echoHandler(t *testing.T, status int, form string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		var echo strings.Builder
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(&echo, "%s: %s\n", name, strings.Join(r.Header[name], ", "))
		}
		echo.Write(body)
		switch form {
		case "json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": "bad request: " + echo.String(), "headers": r.Header})
		case "text":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			io.WriteString(w, echo.String())
		case "escaped": // valid JSON that spells every character as \uXXXX
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			var msg strings.Builder
			for _, r := range echo.String() {
				fmt.Fprintf(&msg, `\u%04x`, r)
			}
			fmt.Fprintf(w, `{"message":"%s"}`, msg.String())
		case "escaped body": // as escaped, the body alone: what it carries comes first
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			var msg strings.Builder
			for _, r := range string(body) {
				fmt.Fprintf(&msg, `\u%04x`, r)
			}
			fmt.Fprintf(w, `{"message":"%s"}`, msg.String())
		case "at the limit": // the secrets straddle the end of what is read
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			const limit = 64 << 10
			io.WriteString(w, strings.Repeat("x", limit-len(testAPIKey)/2))
			io.WriteString(w, testAPIKey+"\n"+strings.Repeat("y", 100)+testSessionID)
		default:
			t.Fatalf("unknown echo form %q", form)
		}
	}
}

func TestSecretsNotEchoedBack(t *testing.T) {
	t.Parallel()
	calls := map[string]func(*dynamo.Client) error{
		"GetBatchStatus": func(c *dynamo.Client) error {
			_, err := c.GetBatchStatus(context.Background(), "b1")
			return err
		},
		"PostBatch": func(c *dynamo.Client) error {
			_, err := c.PostBatch(context.Background(), salesforceBatch(2))
			return err
		},
		"PostBatchWithTemplate": func(c *dynamo.Client) error {
			_, err := c.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), embeddedSalesforceBatch(2))
			return err
		},
		"PostTask": func(c *dynamo.Client) error {
			_, err := c.PostTask(context.Background(), salesforceTask())
			return err
		},
		"PostTaskWithTemplate": func(c *dynamo.Client) error {
			r := salesforceTask()
			r.Template = ""
			_, err := c.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), r)
			return err
		},
		"GetTask": func(c *dynamo.Client) error {
			_, err := c.GetTask(context.Background(), "t-1")
			return err
		},
		"DownloadResult": func(c *dynamo.Client) error {
			_, err := c.DownloadResult(context.Background(), dynamo.Result{ID: "r", URL: c.BaseURL() + "/files/r.pdf?" + signedQuery}, io.Discard)
			return err
		},
	}
	for _, form := range []string{"json", "text", "escaped", "at the limit"} {
		for _, status := range []int{400, 401, 404, 500, 503} {
			for name, call := range calls {
				t.Run(fmt.Sprintf("%s/%d/%s", form, status, name), func(t *testing.T) {
					client, mux, _ := setup(t, dynamo.WithMaxRetries(1))
					mux.Handle("/", echoHandler(t, status, form))
					err := call(client)
					var apiErr *dynamo.APIError
					require.ErrorAs(t, failed(t, err), &apiErr)
					assert.Equal(t, status, apiErr.StatusCode)
					assert.NotEmpty(t, apiErr.Message)
				})
			}
		}
	}
}

// TestSecretsNotInFailures runs the ways a call fails, each with a debug
// logger, and searches the logs and the errors for the secrets (the helpers
// check the log when each subtest ends).
func TestSecretsNotInFailures(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name string
		run  func(t *testing.T) error
	}
	fake := func(name string, faults []dynamotest.Fault, opts ...dynamo.Option) scenario {
		return scenario{name, func(t *testing.T) error {
			srv, client, _ := newFake(t, opts...)
			srv.Inject(dynamotest.RoutePostBatch, faults...)
			_, err := client.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}}
	}
	for _, sc := range []scenario{
		fake("503 until retries run out", []dynamotest.Fault{{Status: 503}, {Status: 503}, {Status: 503}, {Status: 503}}),
		fake("500", []dynamotest.Fault{{Status: 500}}),
		fake("502 page", []dynamotest.Fault{{Status: 502, Body: htmlPage(502)}}),
		fake("429 over the cap", []dynamotest.Fault{{Status: 429, Header: http.Header{"Retry-After": {"3600"}}}}),
		fake("drop after accept", []dynamotest.Fault{{DropAfterAccept: true}}),
		fake("drop before read", []dynamotest.Fault{{DropBeforeRead: true}}),
		{"client timeout", func(t *testing.T) error {
			srv, client, _ := newFake(t, dynamo.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond, Transport: newTransport(t)}))
			srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true})
			_, err := client.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}},
		{"cancelled", func(t *testing.T) error {
			srv, client, logs := newFake(t, dynamo.WithRetryWait(time.Millisecond, time.Minute), dynamo.WithRealClock())
			srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 429, Header: http.Header{"Retry-After": {"30"}}})
			sleeping := logs.Next(logRetrying)
			ctx, cancel := context.WithCancel(context.Background())
			ch := runCall(func() error {
				_, err := client.PostBatch(ctx, salesforceBatch(2))
				return err
			})
			<-sleeping
			cancel()
			return (<-ch).err
		}},
		{"401", func(t *testing.T) error {
			srv := dynamotest.NewServer() // it expects other credentials
			t.Cleanup(srv.Close)
			logs := newLogCapture()
			client, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL(srv.URL), dynamo.WithLogger(logs.Logger()))
			require.NoError(t, err)
			t.Cleanup(client.CloseIdleConnections)
			t.Cleanup(func() { assertNoSecrets(t, "log", logs.Text()) })
			_, err = client.PostBatch(context.Background(), salesforceBatch(2))
			assert.ErrorIs(t, err, dynamo.ErrUnauthorized)
			return err
		}},
		{"404", func(t *testing.T) error {
			_, client, _ := newFake(t)
			_, err := client.WaitBatch(context.Background(), "no-such-batch")
			assert.ErrorIs(t, err, dynamo.ErrNotFound)
			return err
		}},
		{"validation", func(t *testing.T) error {
			srv, client, _ := newFake(t)
			b := salesforceBatch(2)
			b.Tasks[1].Params["id"] = ""
			b.Tasks[0].Params["bad"] = make(chan int)
			b.Integration.ServerURL = ""
			_, err := client.PostBatch(context.Background(), b)
			var verr *dynamo.ValidationError
			assert.ErrorAs(t, err, &verr)
			assert.Empty(t, srv.Requests())
			return err
		}},
		{"validation with a template", func(t *testing.T) error {
			srv, client, _ := newFake(t)
			b := embeddedSalesforceBatch(1)
			b.Parts = []dynamo.Part{{Name: "bad name"}}
			b.Integration.SessionID += "\r\n"
			_, err := client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t\n.dap", []byte("x")), b)
			var verr *dynamo.ValidationError
			assert.ErrorAs(t, err, &verr)
			assert.Empty(t, srv.Requests())
			return err
		}},
		{"template from reader", func(t *testing.T) error {
			client, mux, _ := setup(t)
			mux.Handle("POST /v1/batch", refuseOnceRead(503))
			_, err := client.PostBatchWithTemplate(context.Background(),
				dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP")), embeddedSalesforceBatch(1))
			assert.ErrorIs(t, err, dynamo.ErrNotReplayable)
			return err
		}},
		{"connection refused", func(t *testing.T) error {
			logs := newLogCapture()
			client, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL("http://"+closedAddr(t)),
				dynamo.WithLogger(logs.Logger()), newFakeClock().option())
			require.NoError(t, err)
			t.Cleanup(func() { assertNoSecrets(t, "log", logs.Text()) })
			_, err = client.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}},
		{"task count", func(t *testing.T) error {
			client, mux, _ := setup(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"id":"b","tasks":[]}`)
			})
			_, err := client.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}},
		{"task: 500", func(t *testing.T) error {
			srv, client, _ := newFake(t)
			srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{Status: 500})
			_, err := client.PostTask(context.Background(), salesforceTask())
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
			return err
		}},
		{"task: drop after accept", func(t *testing.T) error {
			srv, client, _ := newFake(t)
			srv.Inject(dynamotest.RoutePostTask, dynamotest.Fault{DropAfterAccept: true})
			_, err := client.PostTask(context.Background(), salesforceTask())
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown)
			return err
		}},
		{"task: validation", func(t *testing.T) error {
			srv, client, _ := newFake(t)
			r := salesforceTask()
			delete(r.Params, "id")
			r.Integration.SessionID += "\n"
			_, err := client.PostTask(context.Background(), r)
			assert.Empty(t, srv.Requests())
			return err
		}},
		{"task: template from reader", func(t *testing.T) error {
			client, mux, _ := setup(t)
			mux.Handle("POST /v1/task", refuseOnceRead(503))
			r := salesforceTask()
			r.Template = ""
			_, err := client.PostTaskWithTemplate(context.Background(), dynamo.TemplateFromReader("t.dap", strings.NewReader("DAP")), r)
			assert.ErrorIs(t, err, dynamo.ErrNotReplayable)
			return err
		}},
		{"task: not found", func(t *testing.T) error {
			_, client, _ := newFake(t)
			_, err := client.WaitTask(context.Background(), "t-00000000000000000000000000000000")
			assert.ErrorIs(t, err, dynamo.ErrNotFound)
			return err
		}},
		{"download: connection refused", func(t *testing.T) error {
			_, client, _ := newFake(t)
			_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "r", URL: "http://" + closedAddr(t) + "/f.pdf?" + signedQuery}, io.Discard)
			return err
		}},
		{"download: expired", func(t *testing.T) error {
			_, client, _ := newFake(t)
			storage := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message><Query>"+r.URL.RawQuery+"</Query></Error>")
			}))
			_, err := client.DownloadResult(context.Background(), dynamo.Result{ID: "r", URL: storage.URL + "/f.pdf?" + signedQuery}, io.Discard)
			return err
		}},
		{"redirect with the key in Location", func(t *testing.T) error {
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("the other host got %s %s", r.Method, r.URL)
			}))
			t.Cleanup(other.Close)
			client, mux, _ := setup(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				target := other.URL + "/collect?key=" + url.QueryEscape(r.Header.Get("x-dynamo-api-key"))
				http.Redirect(w, r, target, http.StatusFound)
			})
			_, err := client.GetBatchStatus(context.Background(), "b1")
			return err
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			err := sc.run(t)
			failed(t, err)
		})
	}
}

func TestSecretsHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, tenant, key string }{
		{"tenant CRLF", testTenantID + "\r\nX-Injected: 1", testAPIKey},
		{"tenant LF", testTenantID + "\nX-Injected: 1", testAPIKey},
		{"tenant NUL", testTenantID + "\x00", testAPIKey},
		{"tenant DEL", testTenantID + "\x7f", testAPIKey},
		{"key CRLF", testTenantID, testAPIKey + "\r\nX-Injected: 1"},
		{"key CR", testTenantID, testAPIKey + "\rX"},
		{"key tab", testTenantID, testAPIKey + "\tX"},
		{"key NUL", testTenantID, "\x00" + testAPIKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dynamo.NewClient(tc.tenant, tc.key, dynamo.WithBaseURL("http://127.0.0.1:1"))
			assert.Nil(t, c)
			failed(t, err)
		})
	}
	_, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithUserAgent("app/1.0\r\nX-Injected: 1"))
	failed(t, err)

	srv, client, _ := newFake(t)
	dap := dynamo.TemplateFromBytes("t.dap", []byte("DAP"))
	for _, tc := range []struct {
		name  string
		tmpl  dynamo.Template
		batch func(*dynamo.Batch)
		field string
	}{
		{"part name CRLF", dap, func(b *dynamo.Batch) {
			b.Parts = []dynamo.Part{{Name: "extra\r\nContent-Type: text/html", Value: 1}}
		}, "parts[0].name"},
		{"part name quote", dap, func(b *dynamo.Batch) {
			b.Parts = []dynamo.Part{{Name: `extra"; filename="x`, Value: 1}}
		}, "parts[0].name"},
		{"template name CRLF", dynamo.TemplateFromBytes("t.dap\r\nContent-Type: text/html", []byte("DAP")), nil, "template.name"},
		{"template name NUL", dynamo.TemplateFromBytes("t\x00.dap", []byte("DAP")), nil, "template.name"},
		{"session CRLF", dap, func(b *dynamo.Batch) { b.Integration.SessionID = testSessionID + "\r\n" }, "integration.sessionID"},
		{"server URL LF", dap, func(b *dynamo.Batch) { b.Integration.ServerURL = testServerURL + "\n" }, "integration.serverURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := embeddedSalesforceBatch(1)
			if tc.batch != nil {
				tc.batch(b)
			}
			_, err := client.PostBatchWithTemplate(context.Background(), tc.tmpl, b)
			var verr *dynamo.ValidationError
			require.ErrorAs(t, failed(t, err), &verr)
			fields := make([]string, len(verr.Problems))
			for i, p := range verr.Problems {
				fields[i] = p.Field
			}
			assert.Contains(t, fields, tc.field)
		})
	}
	assert.Empty(t, srv.Requests(), "nothing refused was sent")

	// A quote in a file name is escaped: it cannot add a parameter or a part.
	tricky := `t"; name="data.dap`
	_, err = client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes(tricky, []byte("DAP")), embeddedSalesforceBatch(1))
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	require.NotNil(t, reqs[0].Template)
	assert.Equal(t, tricky, reqs[0].Template.FileName)
}

// redirectTargets are hosts other than the API's: another server, and the
// API's own server under the other loopback name.
func redirectTargets(t *testing.T, api string, hits *atomic.Int32) map[string]string {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("x-dynamo-api-key") != "" {
			t.Errorf("the API key was delivered to %s", r.Host)
		}
		io.WriteString(w, `{"completed":true}`)
	}))
	t.Cleanup(other.Close)
	u, err := url.Parse(other.URL)
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	return map[string]string{
		"other server":            other.URL,
		"other server, localhost": "http://localhost:" + port,
		"same server, localhost":  strings.Replace(api, "127.0.0.1", "localhost", 1),
	}
}

func TestSecretsRedirectToOtherHostRefused(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			client, mux, _ := setup(t)
			var origin, elsewhere, sameServer atomic.Int32
			apiURL := client.BaseURL()
			targets := redirectTargets(t, apiURL, &elsewhere)
			mux.HandleFunc("GET /v1/batch/{id}", func(w http.ResponseWriter, r *http.Request) {
				origin.Add(1)
				http.Redirect(w, r, targets[r.PathValue("id")]+"/v1/batch/moved", code)
			})
			mux.HandleFunc("GET /v1/batch/moved", func(w http.ResponseWriter, r *http.Request) {
				sameServer.Add(1)
				t.Errorf("the redirect was followed to %s", r.Host)
			})
			for name := range targets {
				t.Run(name, func(t *testing.T) {
					before := origin.Load()
					_, err := client.GetBatchStatus(context.Background(), name)
					var apiErr *dynamo.APIError
					require.ErrorAs(t, failed(t, err), &apiErr)
					assert.Equal(t, code, apiErr.StatusCode)
					assert.ErrorContains(t, err, "a redirect, not followed: it would send the API key to another host")
					assert.Equal(t, before+1, origin.Load(), "a refused redirect is not retried")
				})
			}
			assert.Zero(t, elsewhere.Load(), "no request reached another host")
			assert.Zero(t, sameServer.Load())
		})
	}
}

func TestSecretsRedirectOnSameHostFollowedForGet(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("GET /v1/batch/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, baseURLPath+"/v1/batch/new", http.StatusTemporaryRedirect)
	})
	var followed atomic.Int32
	mux.HandleFunc("GET /v1/batch/new", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		testHeader(t, r, "x-dynamo-api-key", testAPIKey)
		io.WriteString(w, `{"completed":true,"statusMessage":"Completed"}`)
	})
	st, err := client.GetBatchStatus(context.Background(), "old")
	require.NoError(t, err)
	assert.True(t, st.Completed)
	assert.EqualValues(t, 1, followed.Load())
}

func TestSecretsPostNeverFollowsRedirect(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			client, mux, _ := setup(t)
			var posts, moved atomic.Int32
			mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("X-Request-Id", "req-303")
				http.Redirect(w, r, baseURLPath+"/v1/batch/moved", code)
			})
			mux.HandleFunc("/v1/batch/moved", func(w http.ResponseWriter, r *http.Request) {
				moved.Add(1)
				w.WriteHeader(http.StatusAccepted)
			})
			_, err := client.PostBatch(context.Background(), salesforceBatch(1))
			var apiErr *dynamo.APIError
			require.ErrorAs(t, failed(t, err), &apiErr, "the redirect is the answer")
			assert.Equal(t, code, apiErr.StatusCode)
			assert.Equal(t, "req-303", apiErr.RequestID)
			assert.ErrorIs(t, err, dynamo.ErrOutcomeUnknown, "the server may have acted on the post before redirecting")
			assert.ErrorContains(t, err, "redirect, not followed")
			assert.EqualValues(t, 1, posts.Load())
			assert.Zero(t, moved.Load(), "the redirect was not followed")

			_, err = client.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), embeddedSalesforceBatch(1))
			failed(t, err)
			assert.EqualValues(t, 2, posts.Load())
			assert.Zero(t, moved.Load())
		})
	}
}

func TestSecretsCallerHTTPClientKeepsItsRedirectPolicy(t *testing.T) {
	t.Parallel()
	var followedAll int
	hc := &http.Client{
		Transport: newTransport(t),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			followedAll++
			return nil
		},
	}
	client, mux, _ := setup(t, dynamo.WithHTTPClient(hc))
	var elsewhere atomic.Int32
	targets := redirectTargets(t, client.BaseURL(), &elsewhere)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targets["other server"]+"/x", http.StatusTemporaryRedirect)
	})
	_, err := client.GetBatchStatus(context.Background(), "b1")
	failed(t, err)
	assert.Zero(t, elsewhere.Load(), "the SDK's refusal comes before the caller's policy")
	assert.Zero(t, followedAll)

	// The caller's client is not modified.
	assert.NotNil(t, hc.CheckRedirect)
	assert.NoError(t, hc.CheckRedirect(nil, nil))
	assert.Equal(t, 1, followedAll)
}

func TestSecretsPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://dynamo.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.9.9.9", true},
		{"http://localhost:8080/prefix", true},
		{"http://[::1]:8080", true},
		{"http://dynamo.example.com", false},
		{"http://10.0.0.5:8080", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://localhost.example.com", false},
		{"http://[::ffff:10.0.0.1]", false},
		{"ftp://127.0.0.1", false},
		{"http://user:" + testAPIKey + "@127.0.0.1", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL(tc.url))
			if tc.ok {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			assert.Nil(t, c)
			failed(t, err)
		})
	}
	c, err := dynamo.NewClient(testTenantID, testAPIKey, dynamo.WithBaseURL("http://dynamo.example.com"), dynamo.WithInsecurePlainHTTP())
	require.NoError(t, err)
	assert.Equal(t, "http://dynamo.example.com", c.BaseURL())
}

func TestSecretsLogLevelsAndContent(t *testing.T) {
	t.Parallel()
	// The debug records exist, and carry what the documentation says.
	srv, client, logs := newFake(t)
	srv.Inject(dynamotest.RoutePostBatch, dynamotest.Fault{Status: 503})
	_, err := client.PostBatch(context.Background(), salesforceBatch(1))
	require.NoError(t, err)
	reqs := logs.Records(logRequest)
	require.Len(t, reqs, 2)
	for _, rec := range reqs {
		assert.Equal(t, "POST", rec.Attrs["method"])
		assert.Equal(t, "/v1/batch", rec.Attrs["path"])
	}
	assertRetryLogged(t, logs, "status 503")
	assert.True(t, bytes.Contains([]byte(logs.Text()), []byte("level=DEBUG")), "text rendering is captured")
}
