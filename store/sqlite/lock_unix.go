//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockFile takes an exclusive flock on <path>.lock and writes this
// process's id into it, for the message another opener gets. flock locks
// belong to an open file, so a second lockFile in this same process
// conflicts too; the kernel drops the lock when the process dies, so a
// crash leaves nothing to clean up. The lock file itself stays: deleting
// it would race with the next opener.
func lockFile(dbPath, shown string) (*os.File, error) {
	name := dbPath + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("store: opening lock file %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, inUse(shown, f)
		}
		return nil, fmt.Errorf("store: locking %s: %w", name, err)
	}
	// The pid is informative only; failing to write it is no reason to
	// refuse the store.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// inUse is the error for a database another Store holds, naming the
// holder's pid when the lock file tells it.
func inUse(shown string, f *os.File) error {
	e := &InUseError{Path: shown}
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil {
		e.PID = pid
	}
	return e
}

// unlockFile releases the lock taken by lockFile.
func unlockFile(f *os.File) error {
	// Closing the file releases the flock.
	return f.Close()
}
