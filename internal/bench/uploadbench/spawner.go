package main

// Client trials are not started by the benchmark process itself but by a
// small launcher process (hidden mode -spawner) that does nothing else.
//
// On Linux a child's ru_maxrss is never below the peak RSS of the process
// that started it: Go starts children with vfork, so the child runs on its
// parent's memory until exec, and exec records that memory's high-water mark
// in the child's maxrss. The benchmark holds buffers, the sink's records and
// the report, and its peak RSS is above a client's; the launcher's is not,
// so each client's ru_maxrss is its own. The launcher reports its own peak
// RSS, so that the floor is known.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// spawnRequest asks the launcher to run this program with Args.
type spawnRequest struct {
	Args    []string      `json:"args"`
	Timeout time.Duration `json:"timeout"`
}

// spawnResult is what came of a spawnRequest.
type spawnResult struct {
	Stdout     string        `json:"stdout"`
	Stderr     string        `json:"stderr"`
	Err        string        `json:"err,omitempty"` // the child did not start or exit 0
	CPU        time.Duration `json:"cpu"`
	MaxRSS     int64         `json:"maxRSS"`     // KiB, the child's ru_maxrss
	SpawnerHWM int64         `json:"spawnerHWM"` // KiB, the launcher's own peak RSS
}

// runSpawner reads one JSON spawnRequest per line on stdin, runs each child
// to its end, and writes one JSON spawnResult per line on stdout. It exits
// when stdin is closed, killing a child that is still running.
func runSpawner(stdin io.Reader, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "uploadbench launcher: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan []byte)
	go func() {
		defer close(lines)
		defer cancel()
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- bytes.Clone(sc.Bytes())
		}
	}()
	enc := json.NewEncoder(stdout)
	for line := range lines {
		var req spawnRequest
		var res spawnResult
		if err := json.Unmarshal(line, &req); err != nil {
			res.Err = "bad request: " + err.Error()
		} else {
			res = spawn(ctx, exe, &req)
		}
		res.SpawnerHWM = ownPeakRSS()
		if err := enc.Encode(&res); err != nil {
			fmt.Fprintf(stderr, "uploadbench launcher: %v\n", err)
			return 1
		}
	}
	return 0
}

func spawn(ctx context.Context, exe string, req *spawnRequest) spawnResult {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, exe, req.Args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := spawnResult{Stdout: stdout.String(), Stderr: stderr.String(), MaxRSS: -1}
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

// spawnerProc is the launcher's process, seen from the benchmark.
type spawnerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan []byte // the launcher's lines; closed when its stdout ends
	hwm     int64       // the launcher's peak RSS in KiB, as last reported
}

func startSpawner(exe string, env []string, stderr io.Writer) (*spawnerProc, error) {
	cmd := exec.Command(exe, "-spawner")
	cmd.Env = env
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
	s := &spawnerProc{cmd: cmd, stdin: stdin, replies: make(chan []byte, 1), hwm: -1}
	go func() {
		defer close(s.replies)
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			s.replies <- line
		}
	}()
	return s, nil
}

// run has the launcher run this program with args, and waits for the
// outcome for at most timeout plus a margin.
func (s *spawnerProc) run(ctx context.Context, args []string, timeout time.Duration) (*spawnResult, error) {
	req, err := json.Marshal(spawnRequest{Args: args, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	if _, err := s.stdin.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("the launcher is gone: %w", err)
	}
	timer := time.NewTimer(timeout + 30*time.Second)
	defer timer.Stop()
	var line []byte
	var ok bool
	select {
	case line, ok = <-s.replies:
		if !ok {
			return nil, errors.New("the launcher exited")
		}
	case <-timer.C:
		return nil, errors.New("the launcher did not answer in time")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var res spawnResult
	if err := json.Unmarshal(line, &res); err != nil {
		return nil, fmt.Errorf("the launcher answered %q: %w", strings.TrimSpace(string(line)), err)
	}
	s.hwm = res.SpawnerHWM
	return &res, nil
}

// stop ends the launcher: closing its standard input makes it exit (killing
// a child still running); it is killed if it has not within 5 seconds.
func (s *spawnerProc) stop() {
	_ = s.stdin.Close()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.replies:
			if ok {
				continue
			}
		case <-timeout:
			_ = s.cmd.Process.Kill()
			for range s.replies {
			}
		}
		break
	}
	_ = s.cmd.Wait()
}
