package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowRequests sends n requests through the load balancer that each take
// d on the host, so a drain has sessions to wait for; wait returns how
// many did not answer 200.
func (x *e2e) slowRequests(n int, d time.Duration) (wait func() int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	client := &http.Client{Timeout: d + 30*time.Second}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(x.f.LBURL + "/slow?ms=" + strconv.FormatInt(d.Milliseconds(), 10))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				x.t.Logf("slow request: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed++
				x.t.Logf("slow request: status %d", resp.StatusCode)
			}
		}()
	}
	return func() int { wg.Wait(); return failed }
}

// waitLB waits until host's server shows status on HAProxy.
func (x *e2e) waitLB(host, status string) {
	x.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, err := x.f.ServerStatus(context.Background())
		if err == nil && strings.HasPrefix(st[host], status) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	x.t.Fatalf("%s never showed %s on HAProxy", host, status)
}

// With the haproxy backend, an abort while host1 drains lets the drain
// finish (the requests in flight complete), then rolls back and repools
// it; a rollout afterwards works. A rollout killed (SIGKILL) during the
// drain leaves the server in DRAIN: abort recovers it from there, and the
// next rollout works.
func TestE2EAbortDuringDrainHAProxy(t *testing.T) {
	x := newE2E(t)
	stopPoolsync(t, x)
	x.withOverlay("pool:\n  backend: haproxy\n  drain_timeout: 20s\n")
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)

	binary(t) // built before the slow requests start, so they outlast it
	stopLoad := x.load()
	slow := x.slowRequests(6, 4*time.Second)
	_, _, wait := x.start("rollout", tag)
	x.waitLB("host1", "DRAIN")
	if code, _, errOut := x.run("abort", "-m", "abort during drain"); code != exitOK {
		t.Errorf("abort: exit %d: %s", code, errOut)
	}
	if c := wait(); c != exitRolledBack {
		t.Errorf("aborted rollout: exit %d, want %d", c, exitRolledBack)
	}
	if n := slow(); n != 0 {
		t.Errorf("%d requests in flight during the drain failed", n)
	}
	x.requireAllOn(good)
	if code, _, _ := x.run("rollout", tag); code != exitOK {
		t.Errorf("rollout after the abort: exit %d", code)
	}
	x.requireAllOn(x.f.Rev(tag))

	// Killed during the drain.
	slow = x.slowRequests(6, 4*time.Second)
	cmd, _, wait := x.start("rollout", good)
	x.waitLB("host1", "DRAIN")
	cmd.Process.Kill()
	wait()
	if st, _ := x.f.ServerStatus(context.Background()); !strings.HasPrefix(st["host1"], "DRAIN") {
		t.Fatalf("host1 is %q after the kill, want DRAIN", st["host1"])
	}
	if code, _, errOut := x.run("abort"); code != exitOK {
		t.Errorf("abort after a kill during the drain: exit %d: %s", code, errOut)
	}
	slow()
	x.requireAllOn(x.f.Rev(tag))
	if code, _, _ := x.run("rollout", good); code != exitOK {
		t.Errorf("rollout after the recovery: exit %d", code)
	}
	rep := stopLoad()
	if rep.Failures != 0 {
		t.Errorf("%d of %d requests failed: %v", rep.Failures, rep.Requests, rep.FailuresByKind)
	}
	x.requireAllOn(good)
}

// With the etcd backend, a rollout killed (SIGKILL) while host1 drains
// has recorded only the prior it holds before the depool, without the
// value the depool found: abort puts host1 back in the pool from it (etcd
// pooled=yes, HAProxy UP), and the next rollout works.
func TestE2EKillDuringDrainEtcd(t *testing.T) {
	x := newE2E(t)
	x.withOverlay("pool:\n  drain_timeout: 20s\n")
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)

	binary(t) // built before the slow requests start, so they outlast it
	stopLoad := x.load()
	slow := x.slowRequests(6, 6*time.Second)
	cmd, _, wait := x.start("rollout", tag)
	x.waitLB("host1", "DRAIN")
	cmd.Process.Kill()
	wait()
	if v := x.view()["host1"]; v.Etcd != "no" || !strings.HasPrefix(v.LB, "DRAIN") {
		t.Fatalf("host1 after the kill: %s, want depooled in etcd and still draining", v)
	}
	if code, _, errOut := x.run("abort"); code != exitOK {
		t.Errorf("abort after a kill during the drain: exit %d: %s", code, errOut)
	}
	if n := slow(); n != 0 {
		t.Errorf("%d requests in flight during the drain failed", n)
	}
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
	if code, _, _ := x.run("rollout", tag); code != exitOK {
		t.Errorf("rollout after the recovery: exit %d", code)
	}
	x.requireNoFailures(stopLoad)
	x.requireView(want{"host1": {x.f.Rev(tag), true}, "host2": {x.f.Rev(tag), true}, "host3": {x.f.Rev(tag), true}})
}
