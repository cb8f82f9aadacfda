package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & (os.ModePerm | os.ModeSetgid)
}

// useAll makes the store create every kind of file it has.
func useAll(t *testing.T, s *Store) {
	t.Helper()
	lock, err := s.Lock(context.Background(), "prod", Owner{Command: "test"}, NoWait)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := s.Save("prod", State{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append("prod", Record{ID: NewID(time.Now()), Env: "prod"}); err != nil {
		t.Fatal(err)
	}
	f, err := s.LogFile("prod", NewID(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// The per-machine default is shared by the deploy group: whatever the
// umask, everything it creates is group-writable, so every operator takes
// the same lock.
func TestSharedStoreModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "deployctl")
	s, err := OpenShared(dir)
	if err != nil {
		t.Fatal(err)
	}
	useAll(t, s)
	env := filepath.Join(dir, "envs", "prod")
	for path, want := range map[string]os.FileMode{
		dir:                             0o770 | os.ModeSetgid,
		filepath.Join(dir, "envs"):      0o770 | os.ModeSetgid,
		env:                             0o770 | os.ModeSetgid,
		filepath.Join(env, "logs"):      0o770 | os.ModeSetgid,
		filepath.Join(env, lockName):    0o660,
		filepath.Join(env, stateName):   0o660,
		filepath.Join(env, historyName): 0o660,
	} {
		if got := modeOf(t, path); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
}

// A per-user --state-dir stays private.
func TestPrivateStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	useAll(t, s)
	env := filepath.Join(dir, "envs", "prod")
	for path, want := range map[string]os.FileMode{
		env:                           0o700,
		filepath.Join(env, lockName):  0o600,
		filepath.Join(env, stateName): 0o600,
	} {
		if got := modeOf(t, path); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
}

// Permissions that would split the lock are refused, naming the path and
// the fix, and nothing is written.
func TestSharedStoreRefusesSplitLocks(t *testing.T) {
	t.Run("default dir not group-writable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "deployctl")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := OpenShared(dir)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod 2770") {
			t.Fatalf("OpenShared on a 0700 dir: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "envs")); err == nil {
			t.Error("a refused open created envs/")
		}
	})
	t.Run("environment dir left private", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "deployctl")
		s, err := OpenShared(dir)
		if err != nil {
			t.Fatal(err)
		}
		env := filepath.Join(dir, "envs", "prod")
		if err := os.Mkdir(env, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err = s.Lock(context.Background(), "prod", Owner{Command: "test"}, NoWait)
		if err == nil || !strings.Contains(err.Error(), env) || !strings.Contains(err.Error(), "chmod g+rwxs") {
			t.Fatalf("lock in a private env dir of a shared store: %v", err)
		}
	})
	t.Run("lock file left private", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "deployctl")
		s, err := OpenShared(dir)
		if err != nil {
			t.Fatal(err)
		}
		useAll(t, s)
		lockFile := filepath.Join(dir, "envs", "prod", lockName)
		if err := os.Chmod(lockFile, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = s.Lock(context.Background(), "prod", Owner{Command: "test"}, NoWait)
		if err == nil || !strings.Contains(err.Error(), lockFile) {
			t.Fatalf("lock with a private lock file in a shared store: %v", err)
		}
	})
}
