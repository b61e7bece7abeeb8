package main

// Trials are not started by the benchmark process itself but by a small
// launcher process (hidden mode -spawner) that does nothing else.
//
// On Linux a child's ru_maxrss is never below the peak RSS of the process
// that started it: Go starts children with vfork, so the child runs on its
// parent's memory until exec, and exec records that memory's high-water mark
// in the child's maxrss. The benchmark holds its results and buffers; the
// launcher holds nothing, so each trial's ru_maxrss is its own. The launcher
// reports its own peak RSS, so that the floor is known.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/dynamokit/dynamo/internal/bench/stats"
)

// spawnRequest asks the launcher to run a program.
type spawnRequest struct {
	Path    string        `json:"path"`
	Args    []string      `json:"args"`
	Env     []string      `json:"env"`
	Timeout time.Duration `json:"timeout"`
}

// spawnResult is what came of a spawnRequest.
type spawnResult struct {
	Stderr     string        `json:"stderr"`
	Err        string        `json:"err,omitempty"` // the child did not start or exit 0
	Start      int64         `json:"start"`         // Unix ns, just before the child started
	Wall       time.Duration `json:"wall"`
	CPU        time.Duration `json:"cpu"`
	MaxRSS     int64         `json:"maxRSS"`     // KiB, the child's ru_maxrss
	SpawnerHWM int64         `json:"spawnerHWM"` // KiB, the launcher's own peak RSS
}

// runSpawner reads one JSON spawnRequest per line on stdin, runs each child
// to its end, and writes one JSON spawnResult per line on stdout. It exits
// when stdin is closed.
func runSpawner(stdin io.Reader, stdout, stderr io.Writer) int {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(stdout)
	for sc.Scan() {
		var req spawnRequest
		var res spawnResult
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			res.Err = "bad request: " + err.Error()
		} else {
			res = spawn(&req)
		}
		res.SpawnerHWM = stats.StatusKiB("VmHWM:")
		if err := enc.Encode(&res); err != nil {
			fmt.Fprintf(stderr, "bulktoolbench launcher: %v\n", err)
			return 1
		}
	}
	return 0
}

func spawn(req *spawnRequest) spawnResult {
	ctx := context.Background()
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, req.Path, req.Args...)
	cmd.Env = req.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout is discarded: the tool's report is not measured
	cmd.WaitDelay = 5 * time.Second
	res := spawnResult{MaxRSS: -1}
	start := time.Now()
	res.Start = start.UnixNano()
	err := cmd.Run()
	res.Wall = time.Since(start)
	res.Stderr = tail(stderr.String(), 4096)
	if cmd.ProcessState != nil {
		res.CPU, res.MaxRSS = childUsage(cmd.ProcessState)
	}
	if err != nil {
		res.Err = err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res.Err = fmt.Sprintf("timed out after %v and killed (%v)", req.Timeout, err)
		}
	}
	return res
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// launcher is the launcher's process, seen from the benchmark.
type launcher struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startLauncher(exe string, stderr io.Writer) (*launcher, error) {
	cmd := exec.Command(exe, "-spawner")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the launcher: %w", err)
	}
	return &launcher{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}, nil
}

// run has the launcher run req and returns the outcome; the child's own
// timeout bounds the wait.
func (l *launcher) run(req spawnRequest) (*spawnResult, error) {
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := l.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("the launcher is gone: %w", err)
	}
	answer, err := l.out.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("the launcher did not answer: %w", err)
	}
	var res spawnResult
	if err := json.Unmarshal(answer, &res); err != nil {
		return nil, fmt.Errorf("the launcher answered %q: %w", strings.TrimSpace(string(answer)), err)
	}
	return &res, nil
}

// stop ends the launcher: closing its standard input makes it exit.
func (l *launcher) stop() {
	_ = l.stdin.Close()
	_ = l.cmd.Wait()
}
