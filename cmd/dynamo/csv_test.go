package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dynamokit/dynamo/dynamotest"
)

// records returns a CSV of n records with an id and a name column.
func records(n int) string {
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,Account %d\n", recordID(i), i)
	}
	return b.String()
}

// recordID is the id of record i of records.
func recordID(i int) string { return fmt.Sprintf("001%012d", i) }

func TestCSVErrors(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	emptyIDOnLine7 := "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n,f\n7,g\n"
	for _, tc := range []struct {
		name, content, want string
	}{
		{"missing id column", "name,locale\nAcme,fi-FI\n", `accounts.csv:1: no id column in the header (columns: name, locale)`},
		{"empty id on line 7", emptyIDOnLine7, "accounts.csv:7: empty id"},
		{"blank id", "id,name\n  ,a\n", "accounts.csv:2: empty id"},
		{"bad UTF-8 byte", "id,name\n1,a\n2,b\n3,caf\xe9\n", `accounts.csv:4: invalid UTF-8 in column "name"`},
		{"bad UTF-8 in id", "id\n1\n\xff\n", `accounts.csv:3: invalid UTF-8 in column "id"`},
		{"bad UTF-8 in header", "id,n\xffme\n1,a\n", "accounts.csv:1: invalid UTF-8 in the header"},
		{"ragged row", "id,name\n1,a\n2,b,extra\n", "accounts.csv:3: 3 fields, but the header has 2"},
		{"short row", "id,name,locale\n1,a,fi\n2\n", "accounts.csv:3: 1 fields, but the header has 3"},
		{"empty file", "", "accounts.csv: empty file"},
		{"header only", "id,name\n", "accounts.csv: no records after the header"},
		{"duplicate column", "id,name,name\n1,a,b\n", `accounts.csv:1: column "name" appears twice`},
		{"two id columns", "id,Id\n1,2\n", "accounts.csv:1: two id columns"},
		{"unnamed column", "id,,x\n1,2,3\n", "accounts.csv:1: column 2 of the header has no name"},
		{"bare quote", "id,name\n1,a\n2,b\"c\n", `accounts.csv:3: bare " in non-quoted-field`},
		{"multi-line field then empty id", "id,note\n1,\"two\nlines\"\n,x\n", "accounts.csv:4: empty id"},
		{"BOM, quoted header, then empty id", "\uFEFF\"id\",\"name\"\r\n\"1\",\"a\"\r\n,\"b\"\r\n", "accounts.csv:3: empty id"},
		{"BOM then bare quote in the header", "\uFEFFid,na\"me\n1,a\n", `accounts.csv:1: bare " in non-quoted-field`},
		{"second BOM", "\uFEFF\uFEFFid,name\n1,a\n", "accounts.csv:1: no id column in the header (columns: \uFEFFid, name)"},
		{"BOM only", "\uFEFF", "accounts.csv: empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "accounts.csv", tc.content)
			for _, cmd := range [][]string{
				{"post", "--template", "T", "--csv", path},
				{"bulk", "--template", "T", "--csv", path},
			} {
				r := runWith(t, env, cmd...)
				wantCode(t, r, exitUsage)
				wantContains(t, "stderr", r.stderr, tc.want)
			}
		})
	}
	t.Cleanup(func() {
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("bad input sent %d requests", n)
		}
	})
}

func TestCSVMissingFile(t *testing.T) {
	t.Parallel()
	_, env := newServer(t)
	r := runWith(t, env, "post", "--template", "T", "--csv", "nope.csv")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", r.stderr, "nope.csv: no such file or directory")
}

// wantParams fails unless the tasks have exactly the params of want,
// in order.
func wantParams(t *testing.T, tasks []dynamotest.BatchTask, want ...map[string]any) {
	t.Helper()
	params := make([]map[string]any, len(tasks))
	for i, task := range tasks {
		params[i] = task.Params
	}
	got, _ := json.Marshal(params)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("tasks' params\n%s\nwant\n%s", got, w)
	}
}

// TestCSVByteOrderMark reads the files spreadsheets write: Excel's "CSV
// UTF-8" starts with a byte order mark and quotes every field.
func TestCSVByteOrderMark(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	const bom = "\uFEFF"
	for _, tc := range []struct{ name, content string }{
		{"unquoted, LF", "id,name\n001A,Acme\n001B,Globex\n"},
		{"unquoted, CRLF", "id,name\r\n001A,Acme\r\n001B,Globex\r\n"},
		{"quoted, LF", "\"id\",\"name\"\n\"001A\",\"Acme\"\n\"001B\",\"Globex\"\n"},
		{"quoted, CRLF", "\"id\",\"name\"\r\n\"001A\",\"Acme\"\r\n\"001B\",\"Globex\"\r\n"},
		{"BOM, unquoted, LF", bom + "id,name\n001A,Acme\n001B,Globex\n"},
		{"BOM, unquoted, CRLF", bom + "id,name\r\n001A,Acme\r\n001B,Globex\r\n"},
		{"BOM, quoted, LF", bom + "\"id\",\"name\"\n\"001A\",\"Acme\"\n\"001B\",\"Globex\"\n"},
		{"BOM, quoted, CRLF", bom + "\"id\",\"name\"\r\n\"001A\",\"Acme\"\r\n\"001B\",\"Globex\"\r\n"},
		{"BOM, quoted, CRLF, no final line end", bom + "\"id\",\"name\"\r\n\"001A\",\"Acme\"\r\n\"001B\",\"Globex\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := post(t, env, "--csv", writeFile(t, "accounts.csv", tc.content))
			b, _ := srv.Batch(out.ID)
			wantParams(t, b.Tasks, map[string]any{"id": "001A", "name": "Acme"}, map[string]any{"id": "001B", "name": "Globex"})
		})
	}
}

// TestCSVByteOrderMarkElsewhere: only the mark that starts the file is
// dropped; one anywhere else is part of a name or a value.
func TestCSVByteOrderMarkElsewhere(t *testing.T) {
	t.Parallel()
	srv, env := newServer(t)
	csv := writeFile(t, "accounts.csv", "\uFEFFid,\uFEFFname\n001A,\uFEFFAcme\n\uFEFF001B,Globex\n")
	out := post(t, env, "--csv", csv)
	b, _ := srv.Batch(out.ID)
	wantParams(t, b.Tasks,
		map[string]any{"id": "001A", "\uFEFFname": "\uFEFFAcme"},
		map[string]any{"id": "\uFEFF001B", "\uFEFFname": "Globex"})
}

// postedIDs returns the ids of the tasks that srv received, in order; bulk's
// chunks may arrive in any order, so these tests keep to one chunk.
func postedIDs(t *testing.T, srv *dynamotest.Server) []any {
	t.Helper()
	batches := srv.Batches()
	if len(batches) != 1 {
		t.Fatalf("%d batches posted, want 1", len(batches))
	}
	var ids []any
	for _, task := range batches[0].Tasks {
		ids = append(ids, task.Params["id"])
	}
	return ids
}

// warnings returns the lines of stderr that report a repeated id.
func warnings(stderr string) []string {
	var ws []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "with other params") {
			ws = append(ws, l)
		}
	}
	return ws
}

// csvCommands are the two commands that read a CSV, each given path; bulk
// does not wait, as these tests are about what is posted.
func csvCommands(path string) [][]string {
	return [][]string{
		{"post", "--template", "T", "--csv", path},
		{"bulk", "--template", "T", "--csv", path, "--no-wait"},
	}
}

// TestCSVIdenticalRecords: a record that repeats an earlier one exactly,
// id and params, is refused with both lines named, and nothing is posted,
// unless --allow-duplicates is given.
func TestCSVIdenticalRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, want string
		ids                 []any    // posted with --allow-duplicates
		warnings            []string // on stderr with post --allow-duplicates; bulk does not check
	}{
		{"two of three", "id,name\n001A,Acme\n001B,Globex\n001A,Acme\n",
			"accounts.csv:4: the same record as line 2 (id 001A); give --allow-duplicates to post both",
			[]any{"001A", "001B", "001A"}, nil},
		{"quoted differently", "id,name\n001A,Acme\n\"001A\",\"Acme\"\n",
			"accounts.csv:3: the same record as line 2 (id 001A);",
			[]any{"001A", "001A"}, nil},
		{"after multi-line fields", "id,note\n001A,\"two\nlines\"\n001B,x\n001A,\"two\nlines\"\n",
			"accounts.csv:5: the same record as line 2 (id 001A);",
			[]any{"001A", "001B", "001A"}, nil},
		{"BOM and CRLF", "\uFEFF\"id\",\"name\"\r\n\"001A\",\"Acme\"\r\n\"001A\",\"Acme\"\r\n",
			"accounts.csv:3: the same record as line 2 (id 001A);",
			[]any{"001A", "001A"}, nil},
		{"same as the second of an id", "id,name\n001A,Acme\n001A,Globex\n001A,Globex\n",
			"accounts.csv:4: the same record as line 3 (id 001A);",
			[]any{"001A", "001A", "001A"}, []string{"accounts.csv:3: id 001A also on line 2, with other params"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "accounts.csv", tc.content)
			for _, cmd := range csvCommands(path) {
				srv, env := newServer(t)
				r := runWith(t, env, cmd...)
				wantCode(t, r, exitUsage)
				wantContains(t, "stderr", r.stderr, tc.want)
				if n := len(srv.Requests()); n != 0 {
					t.Errorf("%s: a refused file sent %d requests", cmd[0], n)
				}

				r = runWith(t, env, append(cmd, "--allow-duplicates")...)
				wantCode(t, r, exitOK)
				if got := postedIDs(t, srv); fmt.Sprint(got) != fmt.Sprint(tc.ids) {
					t.Errorf("%s --allow-duplicates posted ids %v, want %v", cmd[0], got, tc.ids)
				}
				want := tc.warnings
				if cmd[0] == "bulk" {
					want = nil // --allow-duplicates spends no memory on repeats: none is looked for
				}
				ws := warnings(r.stderr)
				if len(ws) != len(want) {
					t.Fatalf("%s --allow-duplicates: warnings %q, want %q\n%s", cmd[0], ws, want, r)
				}
				for i, w := range want {
					wantContains(t, "warning", ws[i], w)
				}
			}
		})
	}
}

// TestCSVRepeatedID: an id repeated with other params is posted each time,
// with a warning naming both lines.
func TestCSVRepeatedID(t *testing.T) {
	t.Parallel()
	// Line 5 has line 2's text without its last comma: other params, though
	// the fields run together the same.
	path := writeFile(t, "accounts.csv", "id,name,city\n001A,Acme,Oulu\n001B,Globex,Espoo\n001A,Acme,Turku\n001A,AcmeO,ulu\n")
	for _, cmd := range csvCommands(path) {
		srv, env := newServer(t)
		r := runWith(t, env, cmd...)
		wantCode(t, r, exitOK)
		ws := warnings(r.stderr)
		want := []string{
			path + ":4: id 001A also on line 2, with other params",
			path + ":5: id 001A also on line 2, with other params",
		}
		if len(ws) != len(want) {
			t.Fatalf("%s: warnings %q, want %q\n%s", cmd[0], ws, want, r)
		}
		for i, w := range want {
			if ws[i] != "dynamo: "+w {
				t.Errorf("%s: warning %q, want %q", cmd[0], ws[i], "dynamo: "+w)
			}
		}
		b := srv.Batches()
		if len(b) != 1 {
			t.Fatalf("%s: %d batches posted, want 1", cmd[0], len(b))
		}
		wantParams(t, b[0].Tasks,
			map[string]any{"id": "001A", "name": "Acme", "city": "Oulu"},
			map[string]any{"id": "001B", "name": "Globex", "city": "Espoo"},
			map[string]any{"id": "001A", "name": "Acme", "city": "Turku"},
			map[string]any{"id": "001A", "name": "AcmeO", "city": "ulu"})
	}
}

// TestCSVRepeatedIDWarningsBounded: past the first few, repeated ids are
// counted rather than listed.
func TestCSVRepeatedIDWarningsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		repeats int
		lines   int // of warning on stderr
		summary string
	}{
		{maxRepeatWarnings, maxRepeatWarnings, ""},
		{maxRepeatWarnings + 1, maxRepeatWarnings + 1, ": 1 more record repeats an earlier id with other params"},
		{maxRepeatWarnings + 3, maxRepeatWarnings + 1, ": 3 more records repeat an earlier id with other params"},
	} {
		t.Run(fmt.Sprint(tc.repeats), func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			b.WriteString("id,name\n")
			for i := range tc.repeats + 1 {
				fmt.Fprintf(&b, "001A,Account %d\n", i)
			}
			srv, env := newServer(t)
			path := writeFile(t, "accounts.csv", b.String())
			r := runWith(t, env, "post", "--template", "T", "--csv", path)
			wantCode(t, r, exitOK)
			ws := warnings(r.stderr)
			if n := len(ws); n != tc.lines {
				t.Fatalf("%d warning lines, want %d\n%s", n, tc.lines, r)
			}
			wantContains(t, "last listed warning", ws[maxRepeatWarnings-1], fmt.Sprintf(":%d: id 001A also on line 2", maxRepeatWarnings+2))
			if tc.summary != "" {
				wantContains(t, "summary", ws[maxRepeatWarnings], path+tc.summary)
			}
			if n := len(postedIDs(t, srv)); n != tc.repeats+1 {
				t.Errorf("%d tasks posted, want %d", n, tc.repeats+1)
			}
		})
	}
}
