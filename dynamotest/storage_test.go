package dynamotest_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestResultURLIsSigned(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Doc 1", Content: []byte("pdf")})
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	u, err := url.Parse(resultURLs(t, ts)[0])
	require.NoError(t, err)

	assert.Equal(t, "/files/"+a.ID+"/"+a.Tasks[0]+"/Doc 1", u.Path)
	q := u.Query()
	assert.Equal(t, "AWS4-HMAC-SHA256", q.Get("X-Amz-Algorithm"))
	assert.Regexp(t, `^[A-Z0-9]+/20220210/[a-z0-9-]+/s3/aws4_request$`, q.Get("X-Amz-Credential"))
	assert.Equal(t, "20220210T110330Z", q.Get("X-Amz-Date"))
	assert.Equal(t, "3600", q.Get("X-Amz-Expires"))
	assert.Equal(t, "host", q.Get("X-Amz-SignedHeaders"))
	assert.Regexp(t, `^[0-9a-f]{64}$`, q.Get("X-Amz-Signature"))

	// A status read later hands out a fresh URL.
	clock.Advance(time.Second)
	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	later, err := url.Parse(resultURLs(t, ts)[0])
	require.NoError(t, err)
	assert.Equal(t, "20220210T110331Z", later.Query().Get("X-Amz-Date"))
	assert.NotEqual(t, q.Get("X-Amz-Signature"), later.Query().Get("X-Amz-Signature"))
}

func TestResultURLRefusedUnlessSigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(2)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("one")})
	h.s.CompleteBatchTask(a.ID, a.Tasks[1], dynamotest.ResultFile{ID: "Profile", Content: []byte("two")})
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	valid := resultURLs(t, ts)[0]
	_, ts = h.get("/v1/batch/" + a.ID + "/" + a.Tasks[1])
	other := resultURLs(t, ts)[0]

	edit := func(key, value string) string {
		u, _ := url.Parse(valid)
		q := u.Query()
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	otherPath, _, _ := strings.Cut(other, "?")
	_, validQuery, _ := strings.Cut(valid, "?")

	cases := []struct {
		name, url string
		want      int
		code      string
	}{
		{"valid", valid, 200, ""},
		{"no query", strings.Split(valid, "?")[0], 403, "AccessDenied"},
		{"no signature", edit("X-Amz-Signature", ""), 403, "AccessDenied"},
		{"wrong signature", edit("X-Amz-Signature", strings.Repeat("0", 64)), 403, "SignatureDoesNotMatch"},
		{"longer lifetime", edit("X-Amz-Expires", "604800"), 403, "SignatureDoesNotMatch"},
		{"later date", edit("X-Amz-Date", "20991231T000000Z"), 403, "SignatureDoesNotMatch"},
		{"signature of another file", otherPath + "?" + validQuery, 403, "SignatureDoesNotMatch"},
		{"extra parameter", valid + "&x=1", 200, ""},
	}
	for _, tc := range cases {
		resp, body := h.do(mustNewRequest(t, http.MethodGet, tc.url))
		assert.Equal(t, tc.want, resp.StatusCode, tc.name)
		if tc.code != "" {
			assert.Equal(t, "application/xml", resp.Header.Get("Content-Type"), tc.name)
			assert.Regexp(t, regexp.MustCompile(`^<\?xml[^>]*\?>\s*<Error><Code>`+tc.code+`</Code><Message>[^<]+</Message>`), string(body), tc.name)
		} else {
			assert.Equal(t, "one", string(body), tc.name)
		}
	}
}

func TestResultURLExpires(t *testing.T) {
	t.Parallel()
	clock := newClock()
	h := newHarness(t, dynamotest.WithClock(clock.Now))
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("pdf")})
	task := h.mustPostTask(standaloneTask)
	h.s.CompleteTask(task.TaskID, dynamotest.ResultFile{ID: "Summary", Content: []byte("txt")})

	for _, path := range []string{"/v1/batch/" + a.ID + "/" + a.Tasks[0], "/v1/task/" + task.TaskID} {
		_, ts := h.get(path)
		fileURL := resultURLs(t, ts)[0]
		signedAt := clock.Now().Truncate(time.Second) // X-Amz-Date has whole seconds

		clock.Advance(signedAt.Add(time.Hour).Sub(clock.Now()))
		status, _ := h.download(fileURL)
		assert.Equal(t, http.StatusOK, status, "%s: valid for 3600 seconds", path)

		clock.Advance(time.Nanosecond)
		status, body := h.download(fileURL)
		assert.Equal(t, http.StatusForbidden, status, path)
		assert.Contains(t, string(body), "<Error><Code>AccessDenied</Code><Message>Request has expired</Message>", path)

		_, ts = h.get(path)
		status, _ = h.download(resultURLs(t, ts)[0])
		assert.Equal(t, http.StatusOK, status, "%s: a fresh status hands out a fresh URL", path)
	}
}

func TestResultURLAfterReset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustPost(1)
	h.s.CompleteBatchTask(a.ID, a.Tasks[0], dynamotest.ResultFile{ID: "Profile", Content: []byte("pdf")})
	_, ts := h.get("/v1/batch/" + a.ID + "/" + a.Tasks[0])
	fileURL := resultURLs(t, ts)[0]
	h.s.Reset()
	status, body := h.download(fileURL)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), "<Code>NoSuchKey</Code>")
}
