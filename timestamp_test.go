package dynamo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// TestTimestampAcceptsEveryRFC3339Form reads the dates the service writes (Java's
// Instant.toString: 0, 3, 6 or 9 fraction digits) and the other RFC 3339 forms.
func TestTimestampAcceptsEveryRFC3339Form(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		want time.Time
	}{
		{"2022-02-10T11:04:00Z", time.Date(2022, 2, 10, 11, 4, 0, 0, time.UTC)},
		{"2022-02-10T11:03:30.100Z", time.Date(2022, 2, 10, 11, 3, 30, 100_000_000, time.UTC)},
		{"2022-02-10T11:03:39.616069Z", time.Date(2022, 2, 10, 11, 3, 39, 616_069_000, time.UTC)},
		{"2023-03-07T10:26:35.405631389Z", time.Date(2023, 3, 7, 10, 26, 35, 405_631_389, time.UTC)},
		{"2022-02-10T11:03:30.1Z", time.Date(2022, 2, 10, 11, 3, 30, 100_000_000, time.UTC)},
		{"2022-02-10T13:04:00+02:00", time.Date(2022, 2, 10, 11, 4, 0, 0, time.UTC)},
		{"2022-02-10T11:04:00.5-00:30", time.Date(2022, 2, 10, 11, 34, 0, 500_000_000, time.UTC)},
	}
	for _, tc := range cases {
		var st dynamo.BatchStatus
		require.NoError(t, json.Unmarshal([]byte(`{"postDateTime":"`+tc.text+`"}`), &st), tc.text)
		assert.True(t, st.PostDateTime.Time.Equal(tc.want), "%s read as %v", tc.text, st.PostDateTime.Time)
		assert.Equal(t, tc.text, st.PostDateTime.Raw)
	}
}
