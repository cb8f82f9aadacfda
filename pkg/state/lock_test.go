package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mustReturn bounds a call that must end on its own; it fails the test
// (rather than hanging it) when the call does not. It is not a timing
// assertion: the bound is far above any expected duration.
func mustReturn[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return", what)
		panic("unreachable")
	}
}

type lockResult struct {
	lock *Lock
	err  error
}

func lockOf(s *Store, ctx context.Context, env string, o Owner, wait time.Duration) func() lockResult {
	return func() lockResult {
		l, err := s.Lock(ctx, env, o, wait)
		return lockResult{l, err}
	}
}

func TestLockContentionSameProcess(t *testing.T) {
	dir := t.TempDir()
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	owner := Owner{User: "alice", Host: "deploy1", Command: "rollout v2", Message: "hotfix for T123"}
	l1, err := s1.Lock(ctx, "prod", owner, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Release()
	if l1.Stale != nil {
		t.Errorf("Stale = %v on a fresh store", l1.Stale)
	}
	if l1.Owner.PID != os.Getpid() || l1.Owner.Time.IsZero() {
		t.Errorf("owner not filled in: %+v", l1.Owner)
	}
	checkPrivate(t, filepath.Join(dir, "envs", "prod", "lock.json"))
	checkPrivate(t, filepath.Join(dir, "envs", "prod"))

	for _, wait := range []time.Duration{NoWait, 200 * time.Millisecond} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) {
			r := mustReturn(t, "Lock", lockOf(s2, ctx, "prod", Owner{Command: "rollout v3"}, wait))
			if r.err == nil {
				r.lock.Release()
				t.Fatal("second Lock succeeded while the first holds it")
			}
			if !errors.Is(r.err, ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", r.err)
			}
			var le *LockedError
			if !errors.As(r.err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() {
				t.Fatalf("err = %#v, want a LockedError naming this process", r.err)
			}
			msg := r.err.Error()
			for _, want := range []string{"prod", "alice@deploy1", fmt.Sprintf("pid %d", os.Getpid()), "rollout v2", "hotfix for T123", "since"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}

	o, alive, err := s2.Holder("prod")
	if err != nil || !alive || o == nil || o.Command != "rollout v2" {
		t.Fatalf("Holder = %+v, %v, %v; want rollout v2, alive", o, alive, err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs", "prod", "lock.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock.json after Release: %v, want gone", err)
	}
	if o, alive, err := s2.Holder("prod"); o != nil || alive || err != nil {
		t.Errorf("Holder after Release = %+v, %v, %v; want none", o, alive, err)
	}
	l2, err := s2.Lock(ctx, "prod", Owner{Command: "rollout v3"}, NoWait)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	if l2.Stale != nil {
		t.Errorf("Stale = %+v after a clean release", l2.Stale)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockEnvironmentsAreIndependent(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a, err := s.Lock(ctx, "staging", Owner{}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := s.Lock(ctx, "production", Owner{}, NoWait)
	if err != nil {
		t.Fatalf("lock production while staging is held: %v", err)
	}
	b.Release()
}

func TestLockAcquiredWhenReleasedDuringWait(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	l1, err := s.Lock(ctx, "prod", Owner{Command: "first"}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		released <- l1.Release()
	}()
	r := mustReturn(t, "Lock", lockOf(s, ctx, "prod", Owner{Command: "second"}, time.Minute))
	if r.err != nil {
		t.Fatalf("Lock while the holder releases: %v", r.err)
	}
	defer r.lock.Release()
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if r.lock.Stale != nil {
		t.Errorf("Stale = %+v after a clean release", r.lock.Stale)
	}
}

func TestLockContextCancelled(t *testing.T) {
	s := openStore(t)
	l1, err := s.Lock(context.Background(), "prod", Owner{Command: "holder"}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Release()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := mustReturn(t, "Lock", lockOf(s, ctx, "prod", Owner{}, time.Hour))
	if r.err == nil {
		r.lock.Release()
		t.Fatal("Lock succeeded")
	}
	if !errors.Is(r.err, context.Canceled) || errors.Is(r.err, ErrLocked) {
		t.Fatalf("err = %v, want context.Canceled and not ErrLocked (an interrupt is not a lock timeout)", r.err)
	}
	if !strings.Contains(r.err.Error(), "holder") {
		t.Errorf("error %q does not name the holder", r.err)
	}
}

// A real second process: it holds the lock, then dies by SIGKILL without
// releasing. The kernel frees the lock; its lock.json is reported stale.
func TestLockOtherProcess(t *testing.T) {
	ctx := context.Background()
	t.Run("killed holder is reported stale", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		helper := startHelper(t, dir, "prod")
		pid := helper.Process.Pid

		o, alive, err := s.Holder("prod")
		if err != nil || !alive || o == nil || o.PID != pid {
			t.Fatalf("Holder = %+v, %v, %v; want the helper (pid %d), alive", o, alive, err, pid)
		}
		r := mustReturn(t, "Lock", lockOf(s, ctx, "prod", Owner{}, 300*time.Millisecond))
		if !errors.Is(r.err, ErrLocked) {
			if r.lock != nil {
				r.lock.Release()
			}
			t.Fatalf("Lock while the helper holds it: %v, want ErrLocked", r.err)
		}
		for _, want := range []string{fmt.Sprintf("pid %d", pid), "helper", "held by the helper"} {
			if !strings.Contains(r.err.Error(), want) {
				t.Errorf("error %q does not mention %q", r.err, want)
			}
		}

		killHelper(t, helper)
		o, alive, err = s.Holder("prod")
		if err != nil || alive || o == nil || o.PID != pid {
			t.Fatalf("Holder after kill = %+v, %v, %v; want the helper, not alive", o, alive, err)
		}
		l, err := s.Lock(ctx, "prod", Owner{Command: "rollout v4"}, NoWait)
		if err != nil {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		if l.Stale == nil || l.Stale.PID != pid || l.Stale.Command != "helper" {
			t.Errorf("Stale = %+v, want the helper (pid %d)", l.Stale, pid)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("force release refuses a live holder and clears a dead one", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		helper := startHelper(t, dir, "prod")
		pid := helper.Process.Pid

		o, err := s.ForceRelease("prod")
		if !errors.Is(err, ErrLocked) || o != nil {
			t.Fatalf("ForceRelease of a live holder = %+v, %v; want refused with ErrLocked", o, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", pid)) {
			t.Errorf("refusal %q does not name the holder", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "envs", "prod", "lock.json")); err != nil {
			t.Errorf("lock.json of the live holder: %v", err)
		}

		killHelper(t, helper)
		o, err = s.ForceRelease("prod")
		if err != nil || o == nil || o.PID != pid {
			t.Fatalf("ForceRelease of a dead holder = %+v, %v; want its owner", o, err)
		}
		if o, alive, err := s.Holder("prod"); o != nil || alive || err != nil {
			t.Errorf("Holder after ForceRelease = %+v, %v, %v; want none", o, alive, err)
		}
		l, err := s.Lock(ctx, "prod", Owner{}, NoWait)
		if err != nil {
			t.Fatal(err)
		}
		if l.Stale != nil {
			t.Errorf("Stale = %+v after ForceRelease", l.Stale)
		}
		l.Release()
	})
}

func TestForceRelease(t *testing.T) {
	dead := Owner{PID: 99999, Host: "deploy1", User: "bob", Command: "rollout v1", Time: time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)}
	tests := []struct {
		name      string
		setup     func(t *testing.T, s *Store) func() // returns cleanup
		wantOwner *Owner
		wantErr   error
	}{
		{
			name:  "nothing to clear",
			setup: func(t *testing.T, s *Store) func() { return func() {} },
		},
		{
			name: "stale lock.json",
			setup: func(t *testing.T, s *Store) func() {
				writeOwnerFile(t, s, "prod", dead)
				return func() {}
			},
			wantOwner: &dead,
		},
		{
			name: "held in this process",
			setup: func(t *testing.T, s *Store) func() {
				l, err := s.Lock(context.Background(), "prod", Owner{Command: "live"}, NoWait)
				if err != nil {
					t.Fatal(err)
				}
				return func() { l.Release() }
			},
			wantErr: ErrLocked,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			defer tt.setup(t, s)()
			o, err := s.ForceRelease("prod")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			switch {
			case tt.wantOwner == nil && o != nil:
				t.Errorf("owner = %+v, want none", o)
			case tt.wantOwner != nil && (o == nil || *o != *tt.wantOwner):
				t.Errorf("owner = %+v, want %+v", o, tt.wantOwner)
			}
			_, statErr := os.Stat(filepath.Join(s.Dir(), "envs", "prod", "lock.json"))
			if gone := errors.Is(statErr, os.ErrNotExist); gone != (tt.wantErr == nil) {
				t.Errorf("lock.json gone = %v, want %v", gone, tt.wantErr == nil)
			}
		})
	}
}

func TestHolder(t *testing.T) {
	dead := Owner{PID: 99999, Host: "deploy1", User: "bob", Command: "rollout v1"}
	tests := []struct {
		name      string
		setup     func(t *testing.T, s *Store) func()
		wantCmd   string // "" for no owner
		wantAlive bool
		wantErr   bool
	}{
		{name: "never locked", setup: func(*testing.T, *Store) func() { return func() {} }},
		{
			name: "held",
			setup: func(t *testing.T, s *Store) func() {
				l, err := s.Lock(context.Background(), "prod", Owner{Command: "live"}, NoWait)
				if err != nil {
					t.Fatal(err)
				}
				return func() { l.Release() }
			},
			wantCmd: "live", wantAlive: true,
		},
		{
			name: "stale",
			setup: func(t *testing.T, s *Store) func() {
				l, err := s.Lock(context.Background(), "prod", Owner{}, NoWait)
				if err != nil {
					t.Fatal(err)
				}
				l.Release()
				writeOwnerFile(t, s, "prod", dead) // as if its holder had died
				return func() {}
			},
			wantCmd: "rollout v1",
		},
		{
			name: "corrupt lock.json",
			setup: func(t *testing.T, s *Store) func() {
				writeRaw(t, filepath.Join(s.Dir(), "envs", "prod", "lock.json"), "{not json")
				return func() {}
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			defer tt.setup(t, s)()
			o, alive, err := s.Holder("prod")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if !strings.Contains(err.Error(), "lock.json") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			cmd := ""
			if o != nil {
				cmd = o.Command
			}
			if cmd != tt.wantCmd || alive != tt.wantAlive {
				t.Errorf("Holder = %q, alive %v; want %q, alive %v", cmd, alive, tt.wantCmd, tt.wantAlive)
			}
		})
	}
}

func TestLockReportsUnreadableStale(t *testing.T) {
	s := openStore(t)
	writeRaw(t, filepath.Join(s.Dir(), "envs", "prod", "lock.json"), "{torn")
	l, err := s.Lock(context.Background(), "prod", Owner{}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.Stale == nil || !strings.Contains(l.Stale.Message, "unreadable") {
		t.Errorf("Stale = %+v, want an unreadable previous holder", l.Stale)
	}
}

// Release on every path: twice, after lock.json was removed by hand, and no
// descriptor left open by Lock calls that failed.
func TestReleaseEveryPath(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	l, err := s.Lock(ctx, "prod", Owner{}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.Dir(), "envs", "prod", "lock.json")); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("Release with lock.json gone: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}

	holder, err := s.Lock(ctx, "prod", Owner{}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 20 {
		if l, err := s.Lock(ctx, "prod", Owner{}, NoWait); err == nil {
			l.Release()
			t.Fatal("Lock succeeded while held")
		}
		if l, err := s.Lock(cancelled, "prod", Owner{}, time.Minute); err == nil {
			l.Release()
			t.Fatal("Lock succeeded while held")
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("open descriptors %d -> %d after failed Lock calls", before, after)
	}
	if err := holder.Release(); err != nil {
		t.Fatal(err)
	}
	l, err = s.Lock(ctx, "prod", Owner{}, NoWait)
	if err != nil {
		t.Fatalf("Lock after failed attempts and a release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestOwnerString(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	tests := []struct {
		name  string
		owner Owner
		want  string
	}{
		{"full", Owner{PID: 12, Host: "d1", User: "al", Command: "rollout v2", Message: "fix", Time: at},
			`al@d1 pid 12 ("rollout v2": fix) since 2026-11-25T10:15:00Z`},
		{"command only", Owner{PID: 12, Host: "d1", User: "al", Command: "abort"}, `al@d1 pid 12 ("abort")`},
		{"message only", Owner{PID: 12, Host: "d1", User: "al", Message: "fix"}, `al@d1 pid 12 (fix)`},
		{"empty", Owner{}, `?@? pid 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.owner.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open descriptors: %v", err)
	}
	return len(ents)
}

func writeOwnerFile(t *testing.T, s *Store, env string, o Owner) {
	t.Helper()
	dir, err := s.envDir(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dir, "lock.json"), o); err != nil {
		t.Fatal(err)
	}
}

func writeRaw(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
