package etcdstate_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

var alice = state.Owner{User: "alice", Host: "deploy1", Command: "rollout v2", Message: "hotfix"}

// TestLockTwoHosts: two deploy hosts on one environment. The second one's
// Lock fails naming the first (at once, or after its wait), takes the
// lock once the first releases it, and gives up when its context ends.
func TestLockTwoHosts(t *testing.T) {
	e := startEtcd(t)
	a, b := open(t, e), open(t, e)
	la := lock(t, a, "prod", alice)
	if la.Owner.PID != os.Getpid() || la.Owner.Time.IsZero() || la.Owner.User != "alice" {
		t.Errorf("owner not filled in: %+v", la.Owner)
	}
	if la.Stale != nil || la.Lost == nil {
		t.Errorf("fresh lock: Stale %v, Lost %v", la.Stale, la.Lost)
	}
	if v, _ := e.get(t, "/deployctl/prod/lock"); !strings.Contains(v, `"user":"alice"`) || !strings.Contains(v, `"command":"rollout v2"`) {
		t.Errorf("lock key value: %s", v)
	}
	if o, alive, err := b.Holder("prod"); err != nil || !alive || o == nil || o.User != "alice" {
		t.Errorf("Holder = %+v, %v, %v; want alice, alive", o, alive, err)
	}
	if _, err := b.ForceRelease("prod"); !errors.Is(err, state.ErrLocked) {
		t.Errorf("ForceRelease of a live lock: %v, want ErrLocked", err)
	}

	for _, wait := range []time.Duration{state.NoWait, 500 * time.Millisecond} {
		t.Run("wait "+wait.String(), func(t *testing.T) {
			start := time.Now()
			l, err := b.Lock(context.Background(), "prod", state.Owner{Command: "rollout v3"}, wait)
			if err == nil {
				l.Release()
				t.Fatal("second host took a held lock")
			}
			var le *state.LockedError
			if !errors.Is(err, state.ErrLocked) || !errors.As(err, &le) || le.Holder == nil || le.Holder.User != "alice" {
				t.Fatalf("err = %v, want a LockedError naming alice", err)
			}
			if !strings.Contains(err.Error(), "alice@deploy1") || !strings.Contains(err.Error(), "held for") {
				t.Errorf("error does not name the holder and its age: %v", err)
			}
			if took := time.Since(start); wait > 0 && took < wait {
				t.Errorf("gave up after %s, before its wait %s", took, wait)
			}
		})
	}

	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := b.Lock(ctx, "prod", state.Owner{}, 10*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "alice") {
			t.Errorf("err = %v, want the context's, naming alice", err)
		}
	})

	t.Run("waits for the release", func(t *testing.T) {
		time.AfterFunc(300*time.Millisecond, func() { la.Release() })
		l, err := b.Lock(context.Background(), "prod", state.Owner{User: "bob"}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		closedWithin(t, "alice's Lost after her Release", la.Lost, time.Second)
		if o, alive, _ := a.Holder("prod"); !alive || o.User != "bob" {
			t.Errorf("Holder after the handover = %+v, %v", o, alive)
		}
		if err := a.Save("prod", state.State{}); !errors.Is(err, etcdstate.ErrNotLocked) {
			t.Errorf("Save after Release: %v, want ErrNotLocked", err)
		}
	})
}

// TestLockRevoked: a lease revoked under the holder (an operator's
// etcdctl, a compaction of leases) makes Lost fire, and then the holder's
// Save and any transaction fenced with its Fence fail.
func TestLockRevoked(t *testing.T) {
	e := startEtcd(t)
	a := open(t, e, ttl(3*time.Second))
	l := lock(t, a, "prod", alice)
	poolKey := "/conftool/v1/pools/dc1/web/app/h1"
	fenced := func() bool {
		t.Helper()
		resp, err := e.cli.Txn(e.ctx(t)).If(a.Fence("prod")...).Then(clientv3.OpPut(poolKey, `{"pooled":"no"}`)).Commit()
		if err != nil {
			t.Fatal(err)
		}
		return resp.Succeeded
	}
	if !fenced() {
		t.Fatal("a write fenced by a held lock failed")
	}
	if err := a.Save("prod", state.State{Schema: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(context.Background(), "prod"); err != nil {
		t.Fatalf("Check of a held lock: %v", err)
	}

	if _, err := e.cli.Revoke(e.ctx(t), e.lease(t, "prod")); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, "Lost after a revoke", l.Lost, bound)
	if err := a.Save("prod", state.State{Schema: 2}); !errors.Is(err, etcdstate.ErrLockLost) {
		t.Errorf("Save after the revoke: %v, want ErrLockLost", err)
	}
	if v, _ := e.get(t, "/deployctl/prod/state"); v != `{"schema":1}` {
		t.Errorf("state after a refused Save: %s", v)
	}
	if fenced() {
		t.Error("a write fenced by a lost lock succeeded")
	}
	if err := a.Check(context.Background(), "prod"); !errors.Is(err, etcdstate.ErrLockLost) {
		t.Errorf("Check after the revoke: %v, want ErrLockLost", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("Release of a revoked lock: %v", err)
	}
}

// TestLockLostFoundBySave: the key replaced under the holder is seen by
// the holder's next Save even before its keepalive notices.
func TestLockLostFoundBySave(t *testing.T) {
	e := startEtcd(t)
	a, b := open(t, e), open(t, e)
	l := lock(t, a, "prod", alice)
	// Someone deletes the key by hand; another host takes the lock.
	if _, err := e.cli.Delete(e.ctx(t), "/deployctl/prod/lock"); err != nil {
		t.Fatal(err)
	}
	lock(t, b, "prod", state.Owner{User: "bob"})
	err := a.Save("prod", state.State{Schema: 1})
	if !errors.Is(err, etcdstate.ErrLockLost) || !strings.Contains(err.Error(), "bob") {
		t.Fatalf("Save by the old holder: %v, want ErrLockLost naming bob", err)
	}
	closedWithin(t, "Lost after a failed Save", l.Lost, time.Second)
	if err := b.Save("prod", state.State{Schema: 2}); err != nil {
		t.Errorf("Save by the new holder: %v", err)
	}
}

// TestLockHolderVanishes: a holder whose client goes away without a
// revoke (its host crashed) keeps the lock for its lease's TTL; then the
// other host sees an orphan, takes the lock and is told it is stale.
func TestLockHolderVanishes(t *testing.T) {
	tests := []struct {
		name   string
		vanish func(t *testing.T, e *etcdServer) state.Owner
	}{
		{"client closed", func(t *testing.T, e *etcdServer) state.Owner {
			a := open(t, e, ttl(2*time.Second))
			l, err := a.Lock(context.Background(), "prod", alice, state.NoWait)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Save("prod", state.State{Current: &state.Rollout{ID: "r1", Ref: "v2", By: l.Owner, Phase: "promote"}}); err != nil {
				t.Fatal(err)
			}
			a.Close()
			return l.Owner
		}},
		{"process killed", func(t *testing.T, e *etcdServer) state.Owner {
			cmd := startHelper(t, e)
			o, alive, err := open(t, e).Holder("prod")
			if err != nil || !alive {
				t.Fatalf("helper's lock: %+v, %v, %v", o, alive, err)
			}
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			return *o
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEtcd(t)
			gone := tt.vanish(t, e)
			b := open(t, e)
			if _, alive, _ := b.Holder("prod"); !alive {
				t.Error("the lock died at once, not with its lease")
			}
			eventually(t, "the lease expires", func() error {
				if o, alive, err := b.Holder("prod"); err != nil || alive || o == nil {
					return errors.New("still held")
				}
				return nil
			})
			o, alive, err := b.Holder("prod")
			if err != nil || alive || o == nil || o.PID != gone.PID || o.User != gone.User {
				t.Errorf("Holder of the orphan = %+v, %v, %v; want %+v, not alive", o, alive, err, gone)
			}
			if o, err := b.ForceRelease("prod"); err != nil || o == nil || o.PID != gone.PID {
				t.Errorf("ForceRelease of the orphan = %+v, %v", o, err)
			}
			l := lock(t, b, "prod", state.Owner{User: "bob", Command: "abort"})
			if l.Stale == nil || l.Stale.PID != gone.PID || l.Stale.User != gone.User {
				t.Errorf("Stale = %+v, want %+v", l.Stale, gone)
			}
			if st, err := b.Load("prod"); err != nil || st.Current == nil || st.Current.ID != "r1" {
				t.Errorf("the orphan's record did not survive: %+v, %v", st.Current, err)
			}
		})
	}
}

// TestLockEtcdUnreachable: etcd stops answering (SIGSTOP). The client's
// keepalive says nothing, yet Lost fires by the store's own deadline
// (last answer + TTL - TTL/3), and writes refuse; once etcd is back the
// lease is gone and another host takes the lock.
func TestLockEtcdUnreachable(t *testing.T) {
	const lease = 3 * time.Second
	e := startEtcd(t)
	a := open(t, e, ttl(lease))
	l := lock(t, a, "prod", alice)
	time.Sleep(lease / 2) // a keepalive answer or two

	if err := syscall.Kill(e.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Cleanup(func() { syscall.Kill(e.pid, syscall.SIGCONT) })
	// The last answer came before the stop, so the deadline is at most
	// TTL - TTL/3 after it; allow a second for a loaded machine.
	took := closedWithin(t, "Lost while etcd is stopped", l.Lost, lease-lease/3+time.Second)
	t.Logf("Lost %s after SIGSTOP", took)
	err := a.Check(context.Background(), "prod")
	if !errors.Is(err, etcdstate.ErrLockLost) || !strings.Contains(err.Error(), "no keepalive answer") {
		t.Errorf("Check = %v, want the deadline's ErrLockLost", err)
	}
	if err := a.Save("prod", state.State{Schema: 1}); !errors.Is(err, etcdstate.ErrLockLost) {
		t.Errorf("Save while etcd is stopped: %v, want ErrLockLost", err)
	}
	if fence := a.Fence("prod"); len(fence) != 1 {
		t.Errorf("Fence of a lost lock = %v, want the one comparison that never holds", fence)
	}
	time.Sleep(lease - time.Since(stopped)) // etcd's own TTL passes while it is stopped
	if err := syscall.Kill(e.pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	b := open(t, e)
	lb, err := b.Lock(context.Background(), "prod", state.Owner{User: "bob"}, bound)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Release()
	if err := l.Release(); err != nil {
		t.Errorf("Release of the lost lock: %v", err)
	}
	if o, alive, _ := b.Holder("prod"); !alive || o.User != "bob" {
		t.Errorf("the old holder's Release touched the new lock: %+v, %v", o, alive)
	}
}
