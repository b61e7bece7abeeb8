//go:build !linux

package main

// limitFileSize does nothing: the test that needs it runs on Linux.
func limitFileSize() {}
