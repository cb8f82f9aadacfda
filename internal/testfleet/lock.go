package testfleet

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often a busy lock is tried again.
const lockPoll = 200 * time.Millisecond

// ErrLockTimeout means another test binary held the fleet lock too long.
var ErrLockTimeout = errors.New("fleet lock: timed out")

// lockFile holds an exclusive flock. The kernel drops it when the process
// dies, so a crashed test binary never blocks the next run.
type lockFile struct {
	f *os.File
}

// acquireLock takes an exclusive flock on path, waiting at most wait.
func acquireLock(path string, wait time.Duration) (*lockFile, error) {
	// Read-only is enough for flock, and works on a lock file another user made.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("fleet lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &lockFile{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("fleet lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s still held after %s", ErrLockTimeout, path, wait)
		}
		time.Sleep(lockPoll)
	}
}

// release drops the lock.
func (l *lockFile) release() error {
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN); err != nil {
		l.f.Close()
		return fmt.Errorf("fleet unlock: %w", err)
	}
	return l.f.Close()
}
