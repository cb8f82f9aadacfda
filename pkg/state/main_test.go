package state

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: the test binary re-executed with helperEnv=1 takes a
// lock and holds it until it is killed (or helperLife passes).
const (
	helperEnv    = "GO_WANT_HELPER_PROCESS"
	helperDirEnv = "STATE_HELPER_DIR"
	helperEnvEnv = "STATE_HELPER_ENV"
	helperLife   = 60 * time.Second
	helperStart  = 30 * time.Second // bound on waiting for the helper to say "locked"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// helperMain locks the environment named in the environment, says so on
// stdout, and never releases: it is meant to be killed.
func helperMain() int {
	s, err := Open(os.Getenv(helperDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperStart)
	defer cancel()
	_, err = s.Lock(ctx, os.Getenv(helperEnvEnv), Owner{Command: "helper", Message: "held by the helper"}, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	time.Sleep(helperLife)
	return 0
}

// startHelper starts a helper process holding env's lock in dir and waits
// until it holds it. The process is killed (by its pid) at cleanup.
func startHelper(t *testing.T, dir, env string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperDirEnv+"="+dir, helperEnvEnv+"="+env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killHelper(t, cmd) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s != "locked" {
			t.Fatalf("helper said %q, want \"locked\"", s)
		}
	case <-time.After(helperStart):
		t.Fatal("helper did not take the lock in time")
	}
	return cmd
}

// killHelper sends SIGKILL to the helper's pid and reaps it; calling it
// again is harmless.
func killHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.ProcessState != nil {
		return
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Errorf("kill helper %d: %v", cmd.Process.Pid, err)
	}
	_ = cmd.Wait() // "signal: killed" is expected
}

// openStore opens a store in a fresh temp dir.
func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkPrivate fails when path is readable or writable by group or others.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("%s: mode %v, want no group or other bits", path, perm)
	}
}
