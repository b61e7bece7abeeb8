package dynamo_test

import (
	"encoding/json"
	"fmt"
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

func TestTimestampSaysWhatItHolds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		print      string
	}{
		{"placeholder", `"datetime"`, "datetime"},
		{"three digits", `"2022-02-10T11:03:30.100Z"`, "2022-02-10T11:03:30.100Z"},
		{"six digits", `"2022-02-10T11:03:39.616069Z"`, "2022-02-10T11:03:39.616069Z"},
		{"nine digits", `"2023-03-07T10:26:35.405631389Z"`, "2023-03-07T10:26:35.405631389Z"},
		{"offset", `"2022-02-10T13:03:30+02:00"`, "2022-02-10T13:03:30+02:00"},
		{"absent", `null`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts dynamo.Timestamp
			require.NoError(t, json.Unmarshal([]byte(tc.json), &ts))
			assert.Equal(t, tc.print, fmt.Sprint(ts))
			assert.Equal(t, tc.print, fmt.Sprintf("%+v", ts))
			assert.NotContains(t, fmt.Sprintf("%v", ts), "0001-01-01", "a date it does not have")
			data, err := json.Marshal(ts)
			require.NoError(t, err)
			assert.JSONEq(t, tc.json, string(data), "JSON round-trips unchanged")
			text, err := ts.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.print, string(text))
		})
	}
	var st dynamo.BatchStatus
	require.NoError(t, json.Unmarshal([]byte(`{"postDateTime":"datetime","completedDateTime":"2022-02-10T11:03:39.616069Z"}`), &st))
	data, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"postDateTime":"datetime"`)
	assert.Contains(t, string(data), `"completedDateTime":"2022-02-10T11:03:39.616069Z"`)
	assert.False(t, st.CompletedDateTime.IsZero())
}
