package main

import (
	"strings"
	"testing"
)

func TestBulkPostgresJournalUsage(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	csv := writeFile(t, "accounts.csv", records(3))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a password in the URL", []string{"--journal", "postgres://dynamo:pw-in-url-5e1c@127.0.0.1/db"}, "PGPASSWORD"},
		{"a password in the URL's query", []string{"--journal", "postgres://dynamo@127.0.0.1/db?sslmode=disable&password=pw-in-url-5e1c"}, "PGPASSWORD"},
		{"a password in the URL's query, as PostgreSQL spells its keys", []string{"--journal", "postgresql://127.0.0.1/db?user=dynamo&password=pw-in-url-5e1c&sslmode=bad"}, "PGPASSWORD"},
		{"a client key's passphrase in the URL", []string{"--journal", "postgres://dynamo@127.0.0.1/db?sslmode=verify-full&sslkey=/k.pem&sslpassword=pw-in-url-5e1c"}, "PGSSLPASSWORD"},
		{"--job with a file", []string{"--journal", "run.jsonl", "--job", "month-end"}, "--job names a job in a PostgreSQL journal"},
		{"--job without a journal", []string{"--job", "month-end"}, "--job names a job in a PostgreSQL journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bulk", "--template", "T", "--csv", csv}, tc.args...)
			r := runWith(t, f.env, args...)
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, tc.want)
			if strings.Contains(r.stdout+r.stderr, "pw-in-url-5e1c") {
				t.Errorf("the password was printed:\n%s", r)
			}
			if n := len(f.srv.Batches()); n != 0 {
				t.Errorf("%d batches posted", n)
			}
		})
	}
}
