package dynamo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sync"
)

// errLocked is lockFile's error when another open file holds the lock.
var errLocked = errors.New("locked")

// FileJournal returns the store of a journal kept in the file at path, a
// journal line to a line of the file (see "The bulk journal" in the package
// documentation).
//
// The file is created if need be. A run holds an exclusive lock on it (flock
// on Unix, LockFileEx on Windows) until it closes the journal; the system
// releases the lock when the process ends, however it ends. Every append is
// synced to disk before it returns. A last line cut short by a crash is
// removed when the file is opened; a whole last line that lost only its
// newline gets it back.
//
// A lock on a network file system may not be shared between machines: a
// job that may run from several machines needs a store they share.
func FileJournal(path string) JournalStore { return fileStore{path: path} }

// fileStore is FileJournal's store.
type fileStore struct{ path string }

// String returns the file's path, by which PostBulk's errors name the
// journal.
func (s fileStore) String() string { return s.path }

// Open opens and locks the file.
func (s fileStore) Open(context.Context) (Journal, error) {
	if s.path == "" {
		return nil, errors.New("empty path")
	}
	_, statErr := os.Stat(s.path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", pathErrCause(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			return nil, errors.New("not a regular file")
		}
		return nil, fmt.Errorf("opening: %w", pathErrCause(err))
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w (it holds the file's lock)", ErrJournalInUse)
		}
		return nil, fmt.Errorf("locking: %w", err)
	}
	if created {
		syncDir(filepath.Dir(s.path)) // so that the new file itself survives a crash
	}
	return &fileJournal{f: f}, nil
}

// pathErrCause drops the operation and path of an *fs.PathError, which the
// journal's errors say already.
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileJournal is an open, locked journal file.
type fileJournal struct {
	f *os.File
	// mu orders the appends. size is the bytes of the file's whole lines;
	// broken is set when a failed append could not be undone, and then
	// nothing more is written.
	mu     sync.Mutex
	size   int64
	broken error
}

// Lines reads the file from its start. Only the last line may be
// incomplete (no newline): one that is not whole JSON is a write cut short
// and is cut off the file; one that is whole lost only its newline, which is
// restored.
func (j *fileJournal) Lines(context.Context) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		j.mu.Lock()
		defer j.mu.Unlock()
		if _, err := j.f.Seek(0, io.SeekStart); err != nil {
			yield(nil, fmt.Errorf("reading: %w", pathErrCause(err)))
			return
		}
		j.size = 0
		r := bufio.NewReaderSize(j.f, 64<<10)
		for {
			data, err := r.ReadBytes('\n')
			if err != nil && err != io.EOF {
				yield(nil, fmt.Errorf("reading: %w", pathErrCause(err)))
				return
			}
			if len(data) == 0 {
				return
			}
			if data[len(data)-1] != '\n' {
				switch whole, err := j.endLast(data); {
				case err != nil:
					yield(nil, err)
				case whole:
					yield(data, nil)
				}
				return
			}
			j.size += int64(len(data))
			if !yield(data[:len(data)-1], nil) {
				return
			}
		}
	}
}

// endLast handles a last line without a newline: whole, it gets its newline
// back and is reported as a line; cut short, it is removed.
func (j *fileJournal) endLast(data []byte) (whole bool, err error) {
	if json.Valid(data) {
		if _, err := j.f.Write([]byte{'\n'}); err != nil {
			return false, fmt.Errorf("ending the last line: %w", pathErrCause(err))
		}
		j.size += int64(len(data)) + 1
		return true, j.sync()
	}
	if err := j.f.Truncate(j.size); err != nil {
		return false, fmt.Errorf("removing an incomplete last line: %w", pathErrCause(err))
	}
	return false, j.sync()
}

// Append writes line and its newline and syncs the file. A write that fails
// is undone, so that the file holds only whole lines; if that fails too,
// nothing more is written. A line that the file could not give back whole
// is refused.
func (j *fileJournal) Append(_ context.Context, line []byte) error {
	// A newline would split the line in two, and what is not JSON would be
	// read back as a line cut short or another tool's: both are refused.
	if bytes.IndexByte(line, '\n') >= 0 || !json.Valid(line) {
		return errors.New("not a journal line: one JSON value without a newline")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return j.broken
	}
	data := make([]byte, 0, len(line)+1)
	data = append(append(data, line...), '\n')
	if _, err := j.f.Write(data); err != nil {
		if errors.Is(err, os.ErrClosed) { // so is its lock
			return fmt.Errorf("%w: the file was closed", ErrJournalLost)
		}
		return j.undo(fmt.Errorf("writing: %w", pathErrCause(err)))
	}
	if err := j.sync(); err != nil {
		return j.undo(err)
	}
	j.size += int64(len(data))
	return nil
}

// undo restores the file to its whole lines after a failed append.
func (j *fileJournal) undo(err error) error {
	if terr := j.f.Truncate(j.size); terr != nil || j.sync() != nil {
		j.broken = err
	}
	return err
}

func (j *fileJournal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing to disk: %w", pathErrCause(err))
	}
	return nil
}

// Close releases the lock and the file.
func (j *fileJournal) Close() error { return j.f.Close() }

// syncDir flushes a directory's entries, on systems that allow it.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
