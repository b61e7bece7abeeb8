package main

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/dynamokit/dynamo"
)

// readSource reads every task of src once, stopping at its first error.
func readSource(t *testing.T, src *csvSource) ([]dynamo.Task, error) {
	t.Helper()
	var tasks []dynamo.Task
	for task, err := range src.Tasks(t.Context()) {
		if err != nil {
			return tasks, err
		}
		tasks = append(tasks, task)
	}
	return tasks, nil
}

// TestCSVSourceSameTasks: streaming the file gives, read after read, the
// tasks that reading it whole gives.
func TestCSVSourceSameTasks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content string
		base          map[string]string
		parts         []PartFlag
	}{
		{"plain", "id,name\n001A,Acme\n001B,Globex\n", nil, nil},
		{"no final newline", "id,name\n001A,Acme\n001B,Globex", nil, nil},
		{"CRLF", "id,name\r\n001A,Acme\r\n001B,Globex\r\n", nil, nil},
		{"BOM and quoted header", "\uFEFF\"Id\",\"name\"\r\n\"001A\",\"Acme, Inc.\"\r\n", nil, nil},
		{"BOM elsewhere is data", "id,name\n001A,\uFEFFAcme\n", nil, nil},
		{"multi-line field", "id,note\n001A,\"two\nlines\"\n001B,\"say \"\"hi\"\"\"\n", nil, nil},
		{"blank lines", "id,name\n\n001A,Acme\n\n\n001B,Globex\n", nil, nil},
		{"id not first", "name,ID,city\nAcme,001A,Oulu\n", nil, nil},
		{"only an id column", "id\n001A\n001B\n001C\n", nil, nil},
		{"empty params", "id,name,city\n001A,,\n", nil, nil},
		{"unicode", "id,nimi\n001Ä,Äänekoski 日本\n", nil, nil},
		{"params and parts", "id,name\n001A,Acme\n001B,Globex\n", map[string]string{"locale": "fi-FI"},
			[]PartFlag{{Name: "rates"}, {Name: "terms"}}},
		{"repeated id, other params", "id,name\n001A,Acme\n001A,Globex\n", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "accounts.csv", tc.content)
			var warnWhole, warnStream strings.Builder
			want, err := readAllCSV(path, tc.base, tc.parts, -1, duplicatePolicy{warn: &warnWhole})
			if err != nil {
				t.Fatal(err)
			}
			src := &csvSource{path: path, base: tc.base, parts: tc.parts, chunkSize: 1, dups: newDuplicateCheck(&warnStream)}
			for read := 1; read <= 2; read++ {
				got, err := readSource(t, src)
				if err != nil {
					t.Fatalf("read %d: %v", read, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("read %d: tasks\n%#v\nwant\n%#v", read, got, want)
				}
			}
			if warnStream.String() != warnWhole.String() {
				t.Errorf("warnings %q, want %q", warnStream.String(), warnWhole.String())
			}
			if n := src.count(); n != len(want) {
				t.Errorf("counted %d records, want %d", n, len(want))
			}
			for i, task := range want {
				first, last := src.recordIDs(i)
				if first != task.Params["id"] || last != task.Params["id"] {
					t.Errorf("chunk %d: record IDs %q to %q, want %q", i, first, last, task.Params["id"])
				}
			}
		})
	}
}

// TestCSVSourceChunkIDs: the first read notes each chunk's first and last
// record ID, the last chunk's short.
func TestCSVSourceChunkIDs(t *testing.T) {
	t.Parallel()
	src := &csvSource{path: writeFile(t, "accounts.csv", records(2500)), chunkSize: 1000}
	if _, err := readSource(t, src); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]int{{0, 999}, {1000, 1999}, {2000, 2499}} {
		if first, last := src.recordIDs(i); first != recordID(want[0]) || last != recordID(want[1]) {
			t.Errorf("chunk %d: IDs %s to %s, want %s to %s", i, first, last, recordID(want[0]), recordID(want[1]))
		}
	}
	if first, last := src.recordIDs(3); first != "" || last != "" {
		t.Errorf("chunk 3, which does not exist: IDs %q to %q", first, last)
	}
}

// The hashes a test can give the duplicate check: every record colliding
// with every other, or with a third of them, so that only the second look
// at the records tells them apart.
var weakHashes = map[string]func(maphash.Seed, []byte) uint64{
	"constant": func(maphash.Seed, []byte) uint64 { return 7 },
	"length":   func(_ maphash.Seed, b []byte) uint64 { return uint64(len(b) % 3) },
	"keyed":    maphash.Bytes,
}

// randomCSV is a file of n records drawn from few ids and names, so that
// ids repeat, with other params or not; with unique set, no record repeats
// another exactly.
func randomCSV(rng *rand.Rand, n int, unique bool) string {
	var b strings.Builder
	b.WriteString("id,name\n")
	seen := map[string]bool{}
	for len(seen) < n {
		rec := fmt.Sprintf("00%d,%s", rng.IntN(n/2+1), []string{"a", "bc", "\"a,\"", "\"b\"\"c\"", "x\ny"}[rng.IntN(5)])
		if strings.Contains(rec, "\n") && !strings.Contains(rec, "\"") {
			rec = strings.Replace(rec, ",", ",\"", 1) + "\""
		}
		if unique && seen[rec] {
			continue
		}
		seen[rec] = true
		if !unique {
			seen[fmt.Sprint(len(seen))] = true
		}
		b.WriteString(rec + "\n")
	}
	return b.String()
}

// TestDuplicateCheckExact: the check in bounded memory finds the records
// that the check of a whole file in memory finds, no more, no fewer, and
// names the same lines, whether or not the hashes collide.
func TestDuplicateCheckExact(t *testing.T) {
	t.Parallel()
	for name, hash := range weakHashes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 60 {
				content := randomCSV(rng, 5+rng.IntN(40), i%2 == 0)
				path := writeFile(t, fmt.Sprintf("accounts%d.csv", i), content)
				var warnWhole, warnStream strings.Builder
				_, wantErr := readAllCSV(path, nil, nil, -1, duplicatePolicy{warn: &warnWhole})
				src := &csvSource{path: path, chunkSize: 1000, dups: &duplicateCheck{warn: &warnStream, hash: hash}}
				_, err := readSource(t, src)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Errorf("%s: error %v, want %v\n%s", path, err, wantErr, content)
				}
				if warnStream.String() != warnWhole.String() {
					t.Errorf("%s: warnings\n%s\nwant\n%s\n%s", path, warnStream.String(), warnWhole.String(), content)
				}
			}
		})
	}
}

// TestDuplicateCheckNamesLines: a duplicate far from its first, past hash
// collisions with every record between them, is named by both lines.
func TestDuplicateCheckNamesLines(t *testing.T) {
	t.Parallel()
	// Colliding hashes are told apart by reading records back, each from
	// its own offset: a few hundred records keep that quick.
	content := records(300) + recordID(17) + ",Account 17\n"
	path := writeFile(t, "accounts.csv", content)
	for name, hash := range weakHashes {
		var warn strings.Builder
		src := &csvSource{path: path, chunkSize: 1000, dups: &duplicateCheck{warn: &warn, hash: hash}}
		_, err := readSource(t, src)
		var ie *inputError
		if !errors.As(err, &ie) || err.Error() != path+":302: the same record as line 19 (id "+recordID(17)+"); give --allow-duplicates to post both" {
			t.Errorf("%s: error %v", name, err)
		}
		if warn.Len() != 0 {
			t.Errorf("%s: warnings %q", name, warn.String())
		}
	}
}

// TestDuplicateCheckMemory: the check holds 16 bytes a record, in one
// allocation sized by the file's lines, which reading never grows.
func TestDuplicateCheckMemory(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(rowHash{}); n != 16 {
		t.Fatalf("a record's hashes take %d bytes", n)
	}
	const n = 10000
	path := writeFile(t, "accounts.csv", records(n))
	h, err := newDuplicateCheck(nil).start(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := cap(h.all); c != n+2 { // the header's line, and one more than the newlines
		t.Fatalf("room for %d records' hashes, want %d", c, n+2)
	}
	c, err := openCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		if _, err := c.next(nil); err != nil {
			break
		}
		h.add(c.idCol, c.rec)
	}
	if len(h.all) != n || cap(h.all) != n+2 {
		t.Errorf("%d hashes in room for %d, want %d in %d", len(h.all), cap(h.all), n, n+2)
	}
}

// TestBulkBadLastRecord: a bad record in the last lines of a large file
// refuses it with nothing posted.
func TestBulkBadLastRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, tail, want string }{
		{"empty id", ",x\n", ":3002: empty id"},
		{"ragged", "001X,x,y\n", ":3002: 3 fields, but the header has 2"},
		{"duplicate", recordID(2999) + ",Account 2999\n", ":3002: the same record as line 3001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := newServer(t)
			path := writeFile(t, "accounts.csv", records(3000)+tc.tail)
			r := runWith(t, env, "bulk", "--template", "T", "--csv", path, "--no-wait")
			wantCode(t, r, exitUsage)
			wantContains(t, "stderr", r.stderr, path+tc.want)
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
