//go:build !linux

package stats

import "time"

// ProcessCPU is known on Linux only: -1 here.
func ProcessCPU() time.Duration { return -1 }

// StatusKiB is known on Linux only: -1 here.
func StatusKiB(string) int64 { return -1 }
