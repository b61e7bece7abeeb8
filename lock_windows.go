//go:build windows

package dynamo

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

var procLockFileEx = syscall.NewLazyDLL("kernel32.dll").NewProc("LockFileEx")

const (
	lockfileFailImmediately = 0x1
	lockfileExclusiveLock   = 0x2
	errorLockViolation      = syscall.Errno(33)
)

// lockFile takes an exclusive lock on f without waiting. The lock ends when f
// is closed or the process ends, however it ends. It covers one byte far
// beyond any journal's end, so that it keeps other runs out without keeping
// anyone from reading the file.
func lockFile(f *os.File) error {
	ol := syscall.Overlapped{OffsetHigh: 0x7fffffff}
	r, _, err := procLockFileEx.Call(f.Fd(), lockfileExclusiveLock|lockfileFailImmediately, 0, 1, 0, uintptr(unsafe.Pointer(&ol)))
	if r != 0 {
		return nil
	}
	if errors.Is(err, errorLockViolation) {
		return errLocked
	}
	return err
}
