//go:build unix && !solaris && !aix

package dynamo

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting. The lock belongs to
// the open file, which the SDK opens close-on-exec: it ends when f is closed
// or the process ends, however it ends, and no program the process starts
// keeps it (but for the instant between its fork and its exec).
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return err
	}
}
