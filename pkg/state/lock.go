package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Lock waits: a zero wait means DefaultLockWait, NoWait means a single try.
const (
	DefaultLockWait               = 30 * time.Second
	NoWait          time.Duration = -1
)

// lockPoll is how often Lock tries a busy lock again.
const lockPoll = 100 * time.Millisecond

// Lock is a held environment lock. Release it on every exit path (defer);
// if the process dies instead, the kernel releases it.
type Lock struct {
	Env   string
	Owner Owner  // who holds it: this process
	Stale *Owner // the previous holder, when it died without releasing
	// Lost is closed when this process no longer holds the lock although
	// Release was not called yet (and by Release): a shared store's lease
	// ran out or was revoked. It is nil for the local files, whose lock
	// goes only with the process; a nil channel never fires in a select.
	Lost <-chan struct{}

	once    sync.Once
	err     error
	release func() error
}

// NewLock returns a held lock whose Release calls release once: for
// stores other than the local files (a shared store, a test's fake).
func NewLock(env string, owner Owner, stale *Owner, release func() error) *Lock {
	return &Lock{Env: env, Owner: owner, Stale: stale, release: release}
}

// Release gives the lock up: it removes lock.json and drops the flock. It
// is idempotent; later calls return the first call's error.
func (l *Lock) Release() error {
	l.once.Do(func() { l.err = l.release() })
	return l.err
}

// Lock takes env's lock for owner, trying every 100ms for up to wait (zero
// means DefaultLockWait, NoWait a single try) or until ctx is done. Zero
// fields of owner are filled in from this process (pid, host, user, time).
//
// When the lock stays busy, the error is a *LockedError (errors.Is
// ErrLocked) naming the holder; when ctx ends first, it wraps ctx.Err().
// A lock.json left by a holder that died is returned as Lock.Stale.
func (s *Store) Lock(ctx context.Context, env string, owner Owner, wait time.Duration) (*Lock, error) {
	dir, err := s.envDir(env)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if wait == 0 {
		wait = DefaultLockWait
	}
	owner = owner.filled()
	f, err := openLockFile(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", env, err)
	}
	if err := s.acquire(ctx, env, f, wait); err != nil {
		f.Close()
		return nil, err
	}
	unlock := func() error {
		return errors.Join(syscall.Flock(int(f.Fd()), syscall.LOCK_UN), f.Close())
	}
	ownerPath := filepath.Join(dir, ownerName)

	// The flock is ours, so whoever wrote a lock.json still present no
	// longer holds the lock: it died (or failed to clean up).
	var stale *Owner
	var old Owner
	found, err := readJSON(ownerPath, &old)
	switch {
	case found && err == nil:
		stale = &old
	case found:
		stale = &Owner{Message: fmt.Sprintf("unreadable lock.json: %v", err)}
	}
	if err := writeJSON(ownerPath, owner); err != nil {
		return nil, errors.Join(fmt.Errorf("lock %s: %w", env, err), unlock())
	}
	l := &Lock{Env: env, Owner: owner, Stale: stale}
	l.release = func() error {
		rmErr := removeFile(ownerPath)
		if rmErr != nil {
			rmErr = fmt.Errorf("release lock %s: %w", env, rmErr)
		}
		if err := unlock(); err != nil {
			return errors.Join(rmErr, fmt.Errorf("release lock %s: %w", env, err))
		}
		return rmErr
	}
	return l, nil
}

// acquire polls a non-blocking exclusive flock on f until it is ours, wait
// passes or ctx ends.
func (s *Store) acquire(ctx context.Context, env string, f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		held, err := tryFlock(f)
		if err != nil {
			return fmt.Errorf("lock %s: %w", env, err)
		}
		if held {
			return nil
		}
		left := time.Until(deadline)
		if wait < 0 || left <= 0 {
			holder, _ := s.readOwner(env)
			return &LockedError{Env: env, Holder: holder}
		}
		t := time.NewTimer(min(lockPoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			holder, _ := s.readOwner(env)
			who := "another process"
			if holder != nil {
				who = holder.String()
			}
			return fmt.Errorf("lock %s: waiting for %s: %w", env, who, ctx.Err())
		case <-t.C:
		}
	}
}

// Holder reads env's lock.json and tells whether its writer still holds
// the lock. (nil, false): nobody holds it. (o, false): o died holding it
// and its lock.json is stale; the next Lock succeeds (ForceRelease clears
// it). (o, true): o holds it now; o may be nil for an instant while a new
// holder records itself.
func (s *Store) Holder(env string) (*Owner, bool, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return nil, false, fmt.Errorf("lock holder: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, lockName))
	if errors.Is(err, os.ErrNotExist) {
		owner, err := s.readOwner(env) // never locked; a lock.json here is debris
		return owner, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock holder %s: %w", env, err)
	}
	defer f.Close()
	// Probe with our own flock on a separate descriptor: it conflicts with
	// the holder's even within this process. Reading lock.json while the
	// probe holds the lock means no Lock can write it meanwhile.
	free, err := tryFlock(f)
	if err != nil {
		return nil, false, fmt.Errorf("lock holder %s: %w", env, err)
	}
	owner, err := s.readOwner(env)
	if free {
		err = errors.Join(err, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	}
	return owner, !free, err
}

// ForceRelease clears env's lock.json left by a holder that died, and
// returns that holder (nil when there was none). It refuses, with a
// *LockedError naming the holder, while a live process holds the lock.
func (s *Store) ForceRelease(env string) (*Owner, error) {
	dir, err := s.envDir(env)
	if err != nil {
		return nil, fmt.Errorf("force release: %w", err)
	}
	f, err := openLockFile(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("force release %s: %w", env, err)
	}
	defer f.Close()
	free, err := tryFlock(f)
	if err != nil {
		return nil, fmt.Errorf("force release %s: %w", env, err)
	}
	owner, readErr := s.readOwner(env)
	if !free {
		return nil, fmt.Errorf("force release %s: refused, a live process holds the lock: %w",
			env, &LockedError{Env: env, Holder: owner})
	}
	// The flock is ours while we remove the file, so no new holder's
	// lock.json can be lost.
	rmErr := removeFile(filepath.Join(dir, ownerName))
	unErr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := errors.Join(rmErr, unErr); err != nil {
		return owner, fmt.Errorf("force release %s: %w", env, err)
	}
	if readErr != nil && owner == nil {
		// Unreadable, now removed: say so rather than "no lock".
		owner = &Owner{Message: fmt.Sprintf("unreadable lock.json: %v", readErr)}
	}
	return owner, nil
}

// readOwner reads env's lock.json; nil, nil when there is none.
func (s *Store) readOwner(env string) (*Owner, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return nil, err
	}
	var o Owner
	found, err := readJSON(filepath.Join(dir, ownerName), &o)
	if err != nil {
		return nil, fmt.Errorf("lock holder %s: %w", env, err)
	}
	if !found {
		return nil, nil
	}
	return &o, nil
}

// openLockFile opens (creating, with the store's sharing) the file flock
// works on. Go opens files close-on-exec, so a child process never
// inherits the lock.
func openLockFile(path string) (*os.File, error) {
	return openShared(path, os.O_RDWR)
}

// tryFlock takes an exclusive flock on f without blocking: true when it is
// now held through f, false when someone else holds it.
func tryFlock(f *os.File) (bool, error) {
	for range 10 { // EINTR is rare with LOCK_NB; retry a few times
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, fmt.Errorf("flock %s: %w", f.Name(), err)
		}
	}
	return false, fmt.Errorf("flock %s: %w", f.Name(), syscall.EINTR)
}
