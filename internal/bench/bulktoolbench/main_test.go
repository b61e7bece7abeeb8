package main

import (
	"bytes"
	"encoding/csv"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// envAlloc makes the test binary a child that touches that many MiB and
// exits, for the launcher's test.
const envAlloc = "BULKTOOLBENCH_TEST_ALLOC_MIB"

func TestMain(m *testing.M) {
	if v := os.Getenv(envAlloc); v != "" {
		n, _ := strconv.Atoi(v)
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	const n = 1000
	if err := writeCSVFile(path, n); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 || recs[0][0] != "id" || recs[0][1] != "locale" || recs[0][2] != "amount" {
		t.Fatalf("%d rows, header %q", len(recs), recs[0])
	}
	ids := map[string]bool{}
	for _, r := range recs[1:] {
		ids[r[0]] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct ids in %d records", len(ids), n)
	}
	if per := float64(len(data)) / n; per < 29 || per > 33 {
		t.Errorf("%.1f bytes a record, want about 31", per)
	}
}

// TestStandIn: the stand-in counts a post's tasks, answers with as many
// task IDs, records the first post's time, refuses other credentials, and
// forgets everything on a reset.
func TestStandIn(t *testing.T) {
	srv := httptest.NewServer(&standIn{})
	defer srv.Close()
	c := &standInClient{url: srv.URL, hc: srv.Client()}
	before := time.Now().UnixNano()
	tasks := []loopTask{{Params: map[string]string{"id": "1"}}, {Params: map[string]string{"id": "2"}}, {Params: map[string]string{"id": "3"}}}
	for range 2 {
		if err := loopPost(srv.Client(), srv.URL, tasks); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Posts != 2 || st.Tasks != 6 || st.FirstPost < before || st.FirstPost > time.Now().UnixNano() {
		t.Errorf("stats %+v after 2 posts of 3 tasks from %d", st, before)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/batch", bytes.NewReader([]byte(`{"tasks":[{"params":{}}]}`)))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a post without credentials: %s", resp.Status)
	}
	if err := c.reset(); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.stats(); st != (standInStats{}) {
		t.Errorf("stats %+v after a reset", st)
	}
}

// TestLoop: the loop posts every record, in batches of 1000 and a short
// last one, with the record's columns as params.
func TestLoop(t *testing.T) {
	srv := httptest.NewServer(&standIn{})
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := writeCSVFile(path, 2500); err != nil {
		t.Fatal(err)
	}
	if err := runLoop(srv.URL, path, 2); err != nil {
		t.Fatal(err)
	}
	st, err := (&standInClient{url: srv.URL, hc: srv.Client()}).stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Posts != 3 || st.Tasks != 2500 {
		t.Errorf("%d posts of %d tasks, want 3 of 2500", st.Posts, st.Tasks)
	}
}

// TestSpawn: the launcher measures each child's own wall time, CPU time and
// peak RSS, and reports a failed child.
func TestSpawn(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	small := spawn(&spawnRequest{Path: exe, Env: []string{envAlloc + "=0"}, Timeout: time.Minute})
	large := spawn(&spawnRequest{Path: exe, Env: []string{envAlloc + "=128"}, Timeout: time.Minute})
	for _, r := range []spawnResult{small, large} {
		if r.Err != "" || r.Wall <= 0 || r.Start <= 0 || r.CPU < 0 {
			t.Fatalf("result %+v", r)
		}
	}
	if runtime.GOOS == "linux" {
		// The runtime's own heap may hold part of the allocation already.
		if grew := (large.MaxRSS - small.MaxRSS) >> 10; grew < 96 || grew > 256 {
			t.Errorf("a child touching 128 MiB more peaked %d MiB higher (%d KiB against %d KiB)", grew, large.MaxRSS, small.MaxRSS)
		}
	}
	if r := spawn(&spawnRequest{Path: exe, Args: []string{"-test.run=^$", "-no-such-flag"}, Timeout: time.Minute}); r.Err == "" {
		t.Error("a failing child reported no error")
	}
}

// TestSummary: medians of the times, the largest RSS, and the growth per
// record between the smallest and the largest size.
func TestSummary(t *testing.T) {
	s := summarize([]sample{
		{wall: 3 * time.Second, cpu: 2 * time.Second, rssKiB: 1024, firstPost: -1},
		{wall: 1 * time.Second, cpu: 4 * time.Second, rssKiB: 4096, firstPost: time.Second},
		{wall: 2 * time.Second, cpu: 3 * time.Second, rssKiB: 2048, firstPost: 3 * time.Second},
	})
	if s.wall != 2 || s.cpu != 3 || s.rss != 4<<20 || s.firstPost != 2 {
		t.Errorf("summary %+v", s)
	}
	g := growth([]int{3000, 1000}, map[int]float64{1000: 1 << 20, 3000: 1<<20 + 32000})
	if math.Abs(g-16) > 1e-9 {
		t.Errorf("growth %v B a record, want 16", g)
	}
	if g := growth([]int{1000}, map[int]float64{1000: 8000}); g != 8 {
		t.Errorf("growth of one size %v, want 8", g)
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("100k, 3M,42")
	if err != nil || len(got) != 3 || got[0] != 100000 || got[1] != 3000000 || got[2] != 42 {
		t.Errorf("parseCounts = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-1", "1G", "x"} {
		if _, err := parseCounts(bad); err == nil {
			t.Errorf("parseCounts(%q): no error", bad)
		}
	}
}
