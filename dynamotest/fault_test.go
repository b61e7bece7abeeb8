package dynamotest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo/dynamotest"
)

func TestInjectPanicsOnMisuse(t *testing.T) {
	t.Parallel()
	s := dynamotest.NewServer()
	defer s.Close()
	cases := []struct {
		name  string
		route dynamotest.Route
		fault dynamotest.Fault
	}{
		{"unknown route", "GET /nowhere", dynamotest.Fault{}},
		{"negative delay", dynamotest.RoutePostBatch, dynamotest.Fault{Delay: -1}},
		{"status out of range", dynamotest.RoutePostBatch, dynamotest.Fault{Status: 42}},
		{"body without status", dynamotest.RouteTaskStatus, dynamotest.Fault{Body: "x"}},
		{"hang with drop after accept", dynamotest.RoutePostBatch, dynamotest.Fault{Hang: true, DropAfterAccept: true}},
	}
	for _, tc := range cases {
		msg := panicMessage(func() { s.Inject(tc.route, tc.fault) })
		assert.True(t, strings.HasPrefix(msg, "dynamotest: Inject"), "%s: panic %q", tc.name, msg)
	}
	status := func() int {
		resp, err := http.Post(s.URL+"/v1/batch", "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, status(), "a refused Inject queues nothing")
}
