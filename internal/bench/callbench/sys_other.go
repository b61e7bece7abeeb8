//go:build !linux

package main

import "time"

// CPU time and resident memory are read on Linux only; elsewhere only wall
// time and the heap are reported.

func cpuTime() time.Duration { return -1 }
func residentBytes() int64   { return -1 }
func peakRSSBytes() int64    { return -1 }
func resetPeakRSS()          {}
