//go:build !linux

package main

import (
	"os"
	"time"
)

// childUsage returns the CPU time of a child that has exited; its peak RSS
// is known on Linux only (-1 here).
func childUsage(ps *os.ProcessState) (cpu time.Duration, maxRSSKiB int64) {
	return ps.UserTime() + ps.SystemTime(), -1
}

// processCPU is known on Linux only (-1 here).
func processCPU() time.Duration { return -1 }

// ownPeakRSS is known on Linux only.
func ownPeakRSS() int64 { return -1 }
