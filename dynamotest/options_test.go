package dynamotest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dynamokit/dynamo/dynamotest"
)

// panicMessage returns what f panics with, or "" if it does not panic.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestOptionsPanicOnInvalidValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		option string
		call   func()
	}{
		{"WithAutoComplete", func() { dynamotest.WithAutoComplete(-1) }},
		{"WithClock", func() { dynamotest.WithClock(nil) }},
		{"WithCredentials", func() { dynamotest.WithCredentials("", "") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("tenant", "") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("", "key") }},
		{"WithCredentials", func() { dynamotest.WithCredentials("tenant", "key\r\nX-Other: 1") }},
		{"WithResultFiles", func() { dynamotest.WithResultFiles("Profile", "") }},
		{"WithResultFiles", func() { dynamotest.WithResultFiles("Profile", "Profile") }},
	}
	for _, tc := range cases {
		msg := panicMessage(tc.call)
		assert.True(t, strings.HasPrefix(msg, "dynamotest: "+tc.option+": "), "%s: panic %q", tc.option, msg)
	}
}

func TestOptionsValidValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t,
		nil, // skipped
		dynamotest.WithAutoComplete(0),
		dynamotest.WithResultFiles(),
		dynamotest.WithCredentials("tenant", "key"),
	)
	assert.Equal(t, "tenant", h.s.TenantID)
	assert.Equal(t, "key", h.s.APIKey)
	a := h.mustPost(1)
	got, _ := h.s.Batch(a.ID)
	assert.Equal(t, "Queued", got.Tasks[0].StatusMessage, "zero means never auto-complete")
}
