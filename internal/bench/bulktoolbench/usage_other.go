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
