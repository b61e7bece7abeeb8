//go:build linux

package main

import (
	"os"
	"time"

	"github.com/dynamokit/dynamo/internal/bench/stats"
)

// cpuTime is the CPU time (user and system) the whole process has used, or
// -1 when it cannot be read.
func cpuTime() time.Duration { return stats.ProcessCPU() }

// residentBytes is the process's resident set size now (VmRSS), or -1.
func residentBytes() int64 { return kiBToBytes(stats.StatusKiB("VmRSS:")) }

// peakRSSBytes is the process's peak resident set size since the last
// resetPeakRSS (VmHWM), or -1.
func peakRSSBytes() int64 { return kiBToBytes(stats.StatusKiB("VmHWM:")) }

func kiBToBytes(n int64) int64 {
	if n < 0 {
		return -1
	}
	return n << 10
}

// resetPeakRSS makes VmHWM start again from the current RSS, so that one
// process can measure the peak of each of its trials.
func resetPeakRSS() {
	// "5" resets the peak RSS (Linux 4.0 and later); an older kernel
	// refuses it, and the peak then covers the whole process.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
