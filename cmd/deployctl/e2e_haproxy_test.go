package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// stopPoolsync stops the fleet's etcd -> HAProxy sync, so that deployctl
// can own HAProxy through its runtime API (the haproxy backend); the
// cleanup starts it again as it was.
func stopPoolsync(t *testing.T, x *e2e) {
	t.Helper()
	pidFile := filepath.Join(x.f.Dir, "poolsync.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("poolsync pid %d: %v", pid, err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		logf, err := os.OpenFile(filepath.Join(x.f.Dir, "poolsync.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("restarting poolsync: %v", err)
		}
		os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
		go cmd.Wait() // reap it if it exits; fleet down stops it by PID
		x.settleUp(t)
	})
}

// settleUp waits until every fleet host is UP on HAProxy.
func (x *e2e) settleUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := x.f.ServerStatus(context.Background())
		up := err == nil
		for _, h := range x.f.Hosts {
			up = up && strings.HasPrefix(st[h.Name], "UP")
		}
		if up {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fleet hosts not UP on HAProxy")
}

// The haproxy backend on the fleet: the conformance suite on its runtime
// API, and rollouts (good, then rolled back) with 0 failed requests.
func TestE2EHAProxyBackend(t *testing.T) {
	x := newE2E(t)
	stopPoolsync(t, x)
	x.withOverlay("pool:\n  backend: haproxy\n")
	good := x.status().Hosts[0].Rev

	stopLoad := x.load()
	code, _, _ := x.run("rollout", pickOther(x, good))
	if code != exitOK {
		t.Errorf("rollout with the haproxy backend: exit %d", code)
	}
	code, _, _ = x.run("rollout", "bad-health")
	if code != exitRolledBack {
		t.Errorf("bad-health with the haproxy backend: exit %d, want %d", code, exitRolledBack)
	}
	rep := stopLoad()
	if rep.Failures != 0 {
		t.Errorf("%d of %d requests failed: %v", rep.Failures, rep.Requests, rep.FailuresByKind)
	}
	t.Logf("haproxy backend, good rollout and a rollback: %d requests, %d failed", rep.Requests, rep.Failures)
	x.requireAllOn(x.f.Rev(pickOther(x, good)))

	env := x.loadEnv()
	cfg := env.Pool.WithDefaults()
	hap := func(ctx context.Context, cmd string) error {
		out, err := x.f.HAProxyCommand(ctx, cmd)
		if err == nil && strings.TrimSpace(out) != "" {
			err = fmt.Errorf("%s: %s", cmd, strings.TrimSpace(out))
		}
		return err
	}
	set := func(ctx context.Context, h pool.Host, pooled pool.Pooled, weight int) error {
		state := "ready"
		if pooled != pool.PooledYes {
			state = "maint" // where a depool by the haproxy backend ends
		}
		if err := hap(ctx, fmt.Sprintf("set weight %s/%s %d", cfg.HAProxy.Backend, h.Name, weight)); err != nil {
			return err
		}
		return hap(ctx, fmt.Sprintf("set server %s/%s state %s", cfg.HAProxy.Backend, h.Name, state))
	}
	hosts := poolHosts(env)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		x.distinctWeights(t, hosts, set)
		b, err := pool.NewHAProxy(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return pooltest.Env{Backend: b, Hosts: hosts, Unknown: pool.Host{Name: "host-not-in-the-pool"}, Set: set}
	})
}

// poolHosts is the environment's hosts as the pool sees them.
func poolHosts(env *inventory.Env) []pool.Host {
	var hosts []pool.Host
	for _, h := range env.Hosts {
		hosts = append(hosts, pool.Host{Name: h.Name, Vars: env.HostVars(h.Name, "")})
	}
	return hosts
}

// distinctWeights readies the fleet's pool for one conformance case: every
// host pooled with a weight of its own (11, 12, ...) so a restored weight
// is told apart, and back to pooled with weight 10 afterwards.
func (x *e2e) distinctWeights(t *testing.T, hosts []pool.Host, set func(context.Context, pool.Host, pool.Pooled, int) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, h := range hosts {
		if err := set(ctx, h, pool.PooledYes, 11+i); err != nil {
			t.Fatal(err)
		}
	}
	x.settleUp(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, h := range hosts {
			set(ctx, h, pool.PooledYes, 10)
		}
		x.settleUp(t)
	})
}
