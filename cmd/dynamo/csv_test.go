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
		fmt.Fprintf(&b, "001%012d,Account %d\n", i, i)
	}
	return b.String()
}

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
func wantParams(t *testing.T, tasks []dynamotest.Task, want ...map[string]any) {
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
