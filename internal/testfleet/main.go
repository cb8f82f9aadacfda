package testfleet

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ErrNotStarted means Get was called without Main, or after the fleet stopped.
var ErrNotStarted = errors.New("fleet not started")

// session is the fleet of one test binary: started on the first Get, stopped
// by Main after the tests.
type session struct {
	opts   Options
	script script

	once    sync.Once // start
	mu      sync.Mutex
	fleet   *Fleet
	err     error
	lock    *lockFile
	started bool // fleet.sh up ran (successfully or not): down must run
	stopped bool
}

var current struct {
	mu sync.Mutex
	s  *session
}

// Main runs the tests of a package that uses the fleet, and returns the exit
// code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testfleet.Main(m, testfleet.Options{})) }
//
// The fleet starts on the first Get. After the tests, Main stops it, checks
// that no process its pid files named is left, and releases the lock; a
// failure there makes the run fail.
func Main(m *testing.M, opts Options) int {
	s := &session{opts: opts.withDefaults()}
	current.mu.Lock()
	current.s = s
	current.mu.Unlock()

	code := m.Run()
	if err := s.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "fleet: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Get returns the running fleet, starting it on first use. When the fleet
// cannot start because a prerequisite is missing, Get skips the test — or
// fails it under CI=true. Any other start failure fails the test. Under
// -short it skips.
func Get(t testing.TB) *Fleet {
	t.Helper()
	current.mu.Lock()
	s := current.s
	current.mu.Unlock()
	if s == nil {
		t.Fatalf("%v: testfleet.Get needs a TestMain that calls testfleet.Main", ErrNotStarted)
	}
	if flag.Parsed() && testing.Short() {
		t.Skip("fleet: skipped under -short")
	}
	f, err := s.get()
	if err == nil {
		return f
	}
	if skippable(err, os.Getenv("CI")) {
		t.Skipf("fleet: %v\n(skipped because CI is not \"true\"; under CI=true this fails)", err)
	}
	t.Fatalf("fleet: %v", err)
	return nil
}

// skippable says whether a start failure skips the tests rather than failing
// them: only a missing prerequisite, and never under CI=true.
func skippable(err error, ci string) bool {
	return errors.Is(err, ErrPrerequisite) && ci != "true"
}

func (s *session) get() (*Fleet, error) {
	s.once.Do(func() {
		f, err := s.start(context.Background())
		s.mu.Lock()
		s.fleet, s.err = f, err
		s.mu.Unlock()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, fmt.Errorf("%w: the fleet was stopped", ErrNotStarted)
	}
	return s.fleet, s.err
}

// start takes the lock, clears what an interrupted run may have left, and
// runs fleet.sh up.
func (s *session) start(ctx context.Context) (*Fleet, error) {
	path := s.opts.Script
	if path == "" {
		p, err := findScript()
		if err != nil {
			return nil, err
		}
		path = p
	}
	s.script = script{path: path, opts: s.opts}

	lock, err := acquireLock(s.opts.LockFile, s.opts.LockWait)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lock = lock
	s.started = true
	s.mu.Unlock()

	if _, err := s.script.run(ctx, s.opts.DownTimeout, "clean"); err != nil {
		return nil, fmt.Errorf("clean up an earlier fleet: %w", err)
	}
	if _, err := s.script.run(ctx, s.opts.UpTimeout, "up", fmt.Sprint(s.opts.Hosts)); err != nil {
		return nil, err
	}
	return load(s.opts.Dir)
}

// stop runs fleet.sh down if the fleet was started, verifies that every
// process it had is gone, and releases the lock. It is idempotent.
func (s *session) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || !s.started {
		s.stopped = true
		return nil
	}
	s.stopped = true
	var errs []error
	before, err := livePIDs(s.opts.Dir)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := s.script.run(context.Background(), s.opts.DownTimeout, "down"); err != nil {
		errs = append(errs, err)
	}
	if left := stillAlive(before); len(left) > 0 {
		errs = append(errs, fmt.Errorf("fleet processes left after down: %s", strings.Join(left, ", ")))
	}
	if s.lock != nil {
		if err := s.lock.release(); err != nil {
			errs = append(errs, err)
		}
		s.lock = nil
	}
	return errors.Join(errs...)
}

// stillAlive describes the processes of pids that still run.
func stillAlive(pids map[int]string) []string {
	var left []string
	for pid, file := range pids {
		if processAlive(pid) {
			left = append(left, fmt.Sprintf("%d (%s)", pid, file))
		}
	}
	sort.Strings(left)
	return left
}
