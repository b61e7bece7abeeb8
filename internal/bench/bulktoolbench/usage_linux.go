//go:build linux

package main

import (
	"os"
	"syscall"
	"time"
)

// childUsage returns the CPU time (user and system) and the peak resident
// set size in KiB of a child that has exited.
func childUsage(ps *os.ProcessState) (cpu time.Duration, maxRSSKiB int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime(), -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss
}
