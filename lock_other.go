//go:build (!unix && !windows) || solaris || aix

package dynamo

import (
	"errors"
	"os"
	"runtime"
)

// lockFile fails: without a lock, two runs could post the same records.
func lockFile(*os.File) error {
	return errors.New("journal locking is not supported on " + runtime.GOOS)
}
