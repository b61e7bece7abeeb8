//go:build !linux

package main

// Resident memory is read on Linux only; elsewhere only the heap is
// reported.

func residentBytes() int64 { return -1 }
func peakRSSBytes() int64  { return -1 }
func resetPeakRSS()        {}
