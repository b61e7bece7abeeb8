//go:build linux

package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the whole process has used, or
// -1 when it cannot be read.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentBytes is the process's resident set size now (VmRSS), or -1.
func residentBytes() int64 { return statusBytes("VmRSS:") }

// peakRSSBytes is the process's peak resident set size since the last
// resetPeakRSS (VmHWM), or -1.
func peakRSSBytes() int64 { return statusBytes("VmHWM:") }

// resetPeakRSS makes VmHWM start again from the current RSS, so that one
// process can measure the peak of each of its trials.
func resetPeakRSS() {
	// "5" resets the peak RSS (Linux 4.0 and later); an older kernel
	// refuses it, and the peak then covers the whole process.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// statusBytes reads a "kB" field of /proc/self/status, in bytes; -1 when it
// cannot.
func statusBytes(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return n << 10
		}
	}
	return -1
}
