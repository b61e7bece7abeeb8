package dynamotest

import "time"

// formatTime writes t as the service writes its dates, which is how Java's
// Instant.toString writes an instant: UTC, and 0, 3, 6 or 9 fraction digits, as few
// as the instant needs (none at a whole second). The vendor's examples show each
// width: 2022-02-10T11:03:30.100Z, 2022-02-10T11:03:39.616069Z and
// 2023-03-07T10:26:35.405631389Z. The zero time is written "", which omitempty
// leaves out.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return t.Format("2006-01-02T15:04:05Z")
	case ns%int(time.Millisecond) == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case ns%int(time.Microsecond) == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}
