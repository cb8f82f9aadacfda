package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitStatus polls deployctl status (whatever the state backend) until
// cond holds.
func (x *e2e) waitStatus(what string, cond func(statusReport) bool) statusReport {
	x.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if rep := x.status(); cond(rep) {
			return rep
		}
		time.Sleep(200 * time.Millisecond)
	}
	x.t.Fatalf("timed out waiting for %s", what)
	return statusReport{}
}

// Two deploy hosts — two state dirs — on one environment with the state on
// the fleet's etcd: while one rolls out, the other is refused (exit 5,
// naming it); once the first is killed (SIGKILL) its lease runs out, the
// other sees the orphaned rollout in status, aborts it, every host back on
// the good rev and pooled, and rolls out itself.
func TestE2ESharedStateOnEtcd(t *testing.T) {
	x := newE2EWith(t, testOverlay+"state: {backend: etcd, etcd: {prefix: /deployctl-e2e/, lease_ttl: 5s}}\n")
	other := *x
	other.state = filepath.Join(t.TempDir(), "second-deploy-host")
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	binary(t)
	stopLoad := x.load()

	cmd, _, wait := x.start("rollout", tag, "-m", "first deploy host")
	x.waitStatus("the first rollout to change host2", func(r statusReport) bool {
		return r.Current != nil && slices.Contains(r.Current.ChangedHosts, "host2")
	})
	code, _, errOut := other.run("rollout", tag, "--lock-wait", "500ms")
	if code != exitLocked || !strings.Contains(errOut, "first deploy host") {
		t.Errorf("second deploy host's rollout: exit %d, want %d naming the first: %s", code, exitLocked, errOut)
	}
	cmd.Process.Kill()
	wait()

	rep := other.waitStatus("the orphan's lease to run out", func(r statusReport) bool { return r.Current != nil && !r.LockLive })
	if !slices.Contains(rep.Current.ChangedHosts, "host2") {
		t.Errorf("status on the other deploy host: %+v, want the orphaned rollout with host2 changed", rep.Current)
	}
	if code, _, errOut := other.run("rollout", tag); code != exitLocked || !strings.Contains(errOut, "deployctl abort") {
		t.Errorf("rollout over the orphan: exit %d, want %d asking for abort: %s", code, exitLocked, errOut)
	}
	if code, _, errOut := other.run("abort"); code != exitOK {
		t.Fatalf("abort from the other deploy host: exit %d: %s", code, errOut)
	}
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
	if code, _, _ := other.run("rollout", tag); code != exitOK {
		t.Errorf("rollout from the other deploy host: exit %d", code)
	}
	x.requireNoFailures(stopLoad)
	rev := x.f.Rev(tag)
	x.requireView(want{"host1": {rev, true}, "host2": {rev, true}, "host3": {rev, true}})
}

// An environment deployed with the local state moves to etcd with `state
// migrate --to etcd`: last good and history come along, and a second
// migrate is refused, changing nothing.
func TestE2EStateMigrateToEtcd(t *testing.T) {
	x := newE2E(t)
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	stopLoad := x.load() // the pooled 5xx check needs traffic to judge
	code, _, _ := x.run("rollout", tag)
	x.requireNoFailures(stopLoad)
	if code != exitOK {
		t.Fatalf("rollout on the local state: exit %d", code)
	}
	x.withOverlay(fmt.Sprintf("state: {backend: etcd, etcd: {prefix: /deployctl-migrate-%d/}}\n", time.Now().UnixNano()))
	if st := x.status(); st.LastGood.Rev != "" {
		t.Fatalf("etcd already has last good %s before the migrate", st.LastGood.Rev)
	}
	if code, out, errOut := x.run("state", "migrate", "--to", "etcd"); code != exitOK || !strings.Contains(out, "copied") {
		t.Fatalf("state migrate: exit %d: %s%s", code, out, errOut)
	}
	if st := x.status(); st.LastGood.Rev != x.f.Rev(tag) {
		t.Errorf("last good on etcd after the migrate: %q, want %s", st.LastGood.Rev, x.f.Rev(tag))
	}
	if code, out, _ := x.run("history", "-o", "json"); code != exitOK || strings.Count(out, `"result":"done"`) != 1 {
		t.Errorf("history on etcd after the migrate: exit %d:\n%s", code, out)
	}
	if code, _, errOut := x.run("state", "migrate", "--to", "etcd"); code == exitOK || !strings.Contains(errOut, "etcd") {
		t.Errorf("a second migrate: exit %d: %s", code, errOut)
	}
}

// freezeEtcd stops the fleet's etcd (SIGSTOP) and returns a thaw; the
// test's cleanup thaws it in any case.
func freezeEtcd(t *testing.T, x *e2e) (thaw func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(x.f.Dir, "etcd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	thaw = func() { once.Do(func() { syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(thaw)
	return thaw
}

// etcd becomes unreachable mid-rollout: the rollout's lease deadline
// passes, it stops changing anything and exits 4 naming the hosts — while
// etcd is still down, so it cannot have touched a pool after the deadline;
// once etcd is back, an abort from another deploy host finishes the job.
func TestE2EEtcdUnreachableMidRollout(t *testing.T) {
	x := newE2EWith(t, testOverlay+fmt.Sprintf("state: {backend: etcd, etcd: {prefix: /deployctl-freeze-%d/, lease_ttl: 5s}}\n", time.Now().UnixNano()))
	other := *x
	other.state = filepath.Join(t.TempDir(), "second-deploy-host")
	good := x.status().Hosts[0].Rev
	binary(t)
	stopLoad := x.load()
	cmd, out, wait := x.start("rollout", pickOther(x, good))
	x.waitStatus("the rollout to change host2", func(r statusReport) bool {
		return r.Current != nil && slices.Contains(r.Current.ChangedHosts, "host2")
	})
	thaw := freezeEtcd(t, x)
	exited := make(chan int, 1)
	go func() { exited <- wait() }()
	select {
	case code := <-exited:
		if code != exitRollbackFailed || !strings.Contains(out.String(), "lost the environment's lock") || !strings.Contains(out.String(), "host2") {
			t.Errorf("rollout that lost etcd: exit %d, want %d naming the hosts:\n%s", code, exitRollbackFailed, out.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the rollout did not stop while etcd was unreachable:\n%s", out.String())
	}
	thaw()

	// The orphan's lease expires once etcd runs again; abort from the
	// other deploy host waits for it, then restores every host.
	var code int
	var errOut string
	for i := 0; i < 60; i++ {
		if code, _, errOut = other.run("abort"); code != exitLocked {
			break
		}
		time.Sleep(time.Second)
	}
	if code != exitOK {
		t.Fatalf("abort from the other deploy host: exit %d: %s", code, errOut)
	}
	x.requireNoFailures(stopLoad)
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
}
