package main

// End-to-end tests of rollout, rollback, abort, status and history against
// the real local fleet (internal/testfleet): real sshd hosts, HAProxy, etcd
// and the example app with its bad versions. Constant load runs through
// HAProxy during every rollout; the pooled 5xx check needs it, and the tests
// count failed requests.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deployctl/deployctl/internal/loadgen"
	"github.com/deployctl/deployctl/internal/testfleet"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/state"
)

func TestMain(m *testing.M) { os.Exit(testfleet.Main(m, testfleet.Options{})) }

// testOverlay tunes the fleet's configuration for tests: short waits, a
// quick 5xx soak, and a port wait shorter than bad-slowbind's bind delay.
const testOverlay = `
service:
  port_timeout: 4s
ssh:
  command_timeout: 15s
checks:
  - {name: healthz, type: http, stage: depooled, url: "http://{address}:{port}/healthz", expect_status: 200, timeout: 5s}
  - {name: errors-in-log, type: log, stage: depooled, path: /srv/log/exampleapp.log, timeout: 10s}
  - {name: errors-in-log-soak, type: log, stage: pooled, path: /srv/log/exampleapp.log, timeout: 10s}
  - {name: http-5xx, type: metric, stage: pooled, mode: scrape, url: "http://{address}:{port}/metrics", max_error_ratio: 0.05, interval: 1s, count: 2, min_requests: 5, timeout: 10s}
rollout:
  canary_wait: 0s
  min_healthy_time: 1s
`

type e2e struct {
	t     *testing.T
	f     *testfleet.Fleet
	cfg   string
	state string
	env   string
}

// newE2E copies the fleet's configuration with the test overlay and gives
// the test its own state directory.
func newE2E(t *testing.T) *e2e { return newE2EWith(t, testOverlay) }

// newE2EWith is newE2E with another overlay in place of testOverlay.
func newE2EWith(t *testing.T, overlay string) *e2e {
	f := testfleet.Get(t)
	dir := t.TempDir()
	base, err := os.ReadFile(f.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	envSrc := filepath.Join(filepath.Dir(f.ConfigFile), "environments", f.EnvName, "inventory.yaml")
	inv, err := os.ReadFile(envSrc)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "deployctl.yaml"), string(base))
	write(t, filepath.Join(dir, "environments", f.EnvName, "inventory.yaml"), string(inv)+overlay)
	x := &e2e{t: t, f: f, cfg: filepath.Join(dir, "deployctl.yaml"), state: filepath.Join(dir, "state"), env: f.EnvName}
	x.settle()
	return x
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (x *e2e) args(args ...string) []string {
	return append(args, "--config", x.cfg, "--state-dir", x.state, "--env", x.env)
}

// run runs deployctl in-process.
func (x *e2e) run(args ...string) (int, string, string) {
	x.t.Helper()
	code, out, errOut := deployctl(x.t, x.args(args...)...)
	x.t.Logf("deployctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	return code, out, errOut
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds deployctl once for the tests that need a real process
// (signals, SIGKILL, a concurrent second rollout).
func binary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deployctl-e2e")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "deployctl")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// start starts deployctl as a process; wait returns its exit code.
func (x *e2e) start(args ...string) (cmd *exec.Cmd, out *strings.Builder, wait func() int) {
	x.t.Helper()
	cmd = exec.Command(binary(x.t), x.args(args...)...)
	out = &strings.Builder{}
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, out}
	cmd.Stderr = lockedWriter{&mu, out}
	if err := cmd.Start(); err != nil {
		x.t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		done <- code
	}()
	x.t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, out, func() int {
		select {
		case c := <-done:
			mu.Lock()
			x.t.Logf("deployctl %s: exit %d\n%s", strings.Join(args, " "), c, out.String())
			mu.Unlock()
			return c
		case <-time.After(3 * time.Minute):
			cmd.Process.Kill()
			x.t.Fatalf("deployctl %v did not finish in 3m", args)
			return -1
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// load sends constant load through HAProxy until the returned func is
// called; it returns the report.
func (x *e2e) load() func() loadgen.Report {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan loadgen.Report, 1)
	go func() {
		rep, err := loadgen.Run(ctx, loadgen.Options{URL: x.f.LBURL + "/", Rate: 50, Duration: 5 * time.Minute})
		if err != nil {
			x.t.Errorf("load: %v", err)
		}
		ch <- rep
	}()
	return func() loadgen.Report {
		cancel()
		rep := <-ch
		x.t.Logf("load through HAProxy: %s", rep)
		return rep
	}
}

// status reads deployctl status as JSON.
func (x *e2e) status() statusReport {
	x.t.Helper()
	code, out, errOut := deployctl(x.t, x.args("status", "-o", "json")...)
	if code != 0 {
		x.t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		x.t.Fatalf("status json: %v\n%s", err, out)
	}
	return rep
}

// requireAllOn asserts every host runs rev and is pooled and up.
func (x *e2e) requireAllOn(rev string) {
	x.t.Helper()
	for _, h := range x.status().Hosts {
		if h.Rev != rev || h.Pool == nil || h.Pool.Pooled.String() != "yes" || h.Error != "" {
			x.t.Errorf("%s: rev %s pool %+v err %q, want %s pooled", h.Host, gitsrc.Short(h.Rev), h.Pool, h.Error, gitsrc.Short(rev))
		}
	}
}

// settle makes every host run one rev, pooled, so each test starts from a
// fleet a rollout would accept. A previous test's failure is undone by the
// fleet helper, not by deployctl.
func (x *e2e) settle() {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := x.f.ServerStatus(ctx)
	if err != nil {
		x.t.Fatalf("haproxy: %v", err)
	}
	for _, h := range x.f.Hosts {
		if !strings.HasPrefix(st[h.Name], "UP") {
			x.t.Fatalf("fleet not settled: %s is %q", h.Name, st[h.Name])
		}
	}
}

func (x *e2e) waitState(what string, cond func(state.State) bool) {
	x.t.Helper()
	s, err := state.Open(x.state)
	if err != nil {
		x.t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := s.Load(x.env); err == nil && cond(st) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.t.Fatalf("timed out waiting for %s", what)
}

func (x *e2e) lastHistory() state.Record {
	x.t.Helper()
	s, err := state.Open(x.state)
	if err != nil {
		x.t.Fatal(err)
	}
	recs, err := s.History(x.env, 1)
	if err != nil || len(recs) == 0 {
		x.t.Fatalf("history: %v %v", recs, err)
	}
	return recs[0]
}

func TestE2EGoodRolloutThenBadVersionsRollBack(t *testing.T) {
	x := newE2E(t)
	v2 := x.f.Rev("v2")

	stopLoad := x.load()
	code, out, _ := x.run("rollout", "v2", "-m", "e2e good")
	rep := stopLoad()
	if code != exitOK {
		t.Fatalf("rollout v2: exit %d", code)
	}
	if !strings.Contains(out, "done") {
		t.Errorf("no summary: %s", out)
	}
	x.requireAllOn(v2)
	if rep.Failures != 0 || rep.Requests < 100 {
		t.Errorf("good rollout under load: %d requests, %d failed (%v)", rep.Requests, rep.Failures, rep.FailuresByKind)
	}
	t.Logf("good rollout: %d requests through HAProxy, %d failed", rep.Requests, rep.Failures)
	if r := x.lastHistory(); r.Result != state.ResultDone || r.Rev != v2 {
		t.Errorf("history: %+v", r)
	}

	for _, tc := range []struct {
		tag, step, evidence string
		userErrors          bool // the release answers 5xx to real users while pooled
	}{
		{tag: "bad-start", step: "port", evidence: "not bound"},
		{tag: "bad-health", step: "checks:depooled", evidence: "status 503"},
		{tag: "bad-log", step: "checks:", evidence: "FATAL"},
		{tag: "bad-5xx", step: "checks:pooled", evidence: "max_error_ratio", userErrors: true},
		{tag: "bad-slowbind", step: "port", evidence: "not bound"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			x.t = t
			stopLoad := x.load()
			code, out, errOut := x.run("rollout", tc.tag)
			rep := stopLoad()
			if code != exitRolledBack {
				t.Fatalf("exit %d, want %d", code, exitRolledBack)
			}
			r := x.lastHistory()
			if r.Result != state.ResultRolledBack || r.FailedHost != "host1" {
				t.Errorf("history: %+v", r)
			}
			all := out + errOut
			if !strings.Contains(all, "at "+tc.step) || !strings.Contains(all, tc.evidence) {
				t.Errorf("want failure at %s with evidence %q in:\n%s", tc.step, tc.evidence, all)
			}
			x.requireAllOn(v2)
			t.Logf("%s: %d requests through HAProxy, %d failed", tc.tag, rep.Requests, rep.Failures)
			if !tc.userErrors && rep.Failures != 0 {
				t.Errorf("%d of %d requests failed during the rollback: %v", rep.Failures, rep.Requests, rep.FailuresByKind)
			}
		})
	}
}

// waitChanged waits until the running rollout has started changing host.
func (x *e2e) waitChanged(host string) {
	x.waitState("rollout to change "+host, func(st state.State) bool {
		return st.Current != nil && slices.Contains(st.Current.ChangedHosts, host)
	})
}

func TestE2EConcurrentRolloutIsLocked(t *testing.T) {
	x := newE2E(t)
	stopLoad := x.load()
	defer stopLoad()
	_, _, wait := x.start("rollout", "v1", "-m", "first")
	x.waitState("first rollout to start", func(st state.State) bool { return st.Current != nil })
	code, _, errOut := x.run("rollout", "v2", "--lock-wait", "500ms")
	if code != exitLocked || !strings.Contains(errOut, "first") {
		t.Errorf("second rollout: exit %d, want %d naming the holder; stderr %s", code, exitLocked, errOut)
	}
	if c := wait(); c != exitOK {
		t.Errorf("first rollout: exit %d", c)
	}
	x.requireAllOn(x.f.Rev("v1"))
}

func TestE2EAbortMidRollout(t *testing.T) {
	x := newE2E(t)
	good, _, wait, stopLoad := x.midRollout()
	code, _, errOut := x.run("abort", "-m", "e2e abort")
	if code != exitOK {
		t.Errorf("abort: exit %d: %s", code, errOut)
	}
	if c := wait(); c != exitRolledBack {
		t.Errorf("aborted rollout: exit %d, want %d", c, exitRolledBack)
	}
	rep := stopLoad()
	x.requireAllOn(good)
	if r := x.lastHistory(); r.Result != state.ResultRolledBack || !strings.Contains(r.Reason, "abort") {
		t.Errorf("history: %+v", r)
	}
	if rep.Failures != 0 {
		t.Errorf("%d of %d requests failed", rep.Failures, rep.Requests)
	}
}

func TestE2ESIGINTRollsBack(t *testing.T) {
	x := newE2E(t)
	good, cmd, wait, stopLoad := x.midRollout()
	cmd.Process.Signal(os.Interrupt)
	if c := wait(); c != exitRolledBack {
		t.Errorf("exit %d, want %d", c, exitRolledBack)
	}
	rep := stopLoad()
	x.requireAllOn(good)
	if rep.Failures != 0 {
		t.Errorf("%d of %d requests failed", rep.Failures, rep.Requests)
	}
	t.Logf("SIGINT and rollback: %d requests, %d failed", rep.Requests, rep.Failures)
}

func TestE2ESIGKILLThenAbort(t *testing.T) {
	x := newE2E(t)
	good, cmd, wait, stopLoad := x.midRollout()
	cmd.Process.Kill()
	wait()
	// The lock died with the process; the state says where it stopped.
	code, out, errOut := x.run("status")
	if code != 0 || !strings.Contains(out, "NOT RUNNING") {
		t.Errorf("status after SIGKILL: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = x.run("rollout", "v2")
	if code != exitLocked || !strings.Contains(errOut, "deployctl abort") {
		t.Errorf("rollout after a crash: exit %d, want %d asking for abort: %s", code, exitLocked, errOut)
	}
	code, _, errOut = x.run("abort")
	if code != exitOK {
		t.Fatalf("abort: exit %d: %s", code, errOut)
	}
	rep := stopLoad()
	x.requireAllOn(good)
	if st := x.status(); st.Current != nil || st.Lock != nil {
		t.Errorf("after abort: current %+v lock %+v", st.Current, st.Lock)
	}
	t.Logf("SIGKILL then abort: %d requests, %d failed", rep.Requests, rep.Failures)
}

// loadEnv loads the test's environment as deployctl would.
func (x *e2e) loadEnv() *inventory.Env {
	x.t.Helper()
	p, err := inventory.Open(x.cfg)
	if err != nil {
		x.t.Fatal(err)
	}
	env, err := p.Env(x.env)
	if err != nil {
		x.t.Fatal(err)
	}
	return env
}

// midRollout starts, under load, a rollout (as a process) of the good tag
// the hosts do not run, and returns once it is changing host2.
func (x *e2e) midRollout() (good string, cmd *exec.Cmd, wait func() int, stopLoad func() loadgen.Report) {
	good = x.status().Hosts[0].Rev
	stopLoad = x.load()
	cmd, _, wait = x.start("rollout", pickOther(x, good))
	x.waitChanged("host2")
	return good, cmd, wait, stopLoad
}

// pickOther returns a good tag whose rev differs from rev.
func pickOther(x *e2e, rev string) string {
	if x.f.Rev("v1") == rev {
		return "v2"
	}
	return "v1"
}

// freezeHost stops (SIGSTOP) a host's sshd and every process under it, so
// the host stops answering on connections already open, as a host that
// drops off the network would. The returned func thaws it.
func freezeHost(t *testing.T, f *testfleet.Fleet, host string) func() {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.Dir, "hosts", host, "sshd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var root int
	fmt.Sscan(string(b), &root)
	pids := descendants(root)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	var once sync.Once
	thaw := func() {
		once.Do(func() {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGCONT)
			}
		})
	}
	t.Cleanup(thaw)
	return thaw
}

// descendants returns pid and every process below it, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so parse after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		var st string
		var ppid int
		if i < 0 {
			continue
		}
		fmt.Sscan(s[i+1:], &st, &ppid)
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < 10000; i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// A host that stops answering before its turn fails its step within the
// command bound; it was never stopped, so it goes back into the pool as it
// was, and the hosts already changed return to last good (exit 3).
func TestE2EHostUnreachableMidRollout(t *testing.T) {
	x := newE2E(t)
	good, _, wait, stopLoad := x.midRollout()
	thaw := freezeHost(t, x.f, "host3")
	if code := wait(); code != exitRolledBack {
		t.Errorf("exit %d, want %d", code, exitRolledBack)
	}
	r := x.lastHistory()
	if r.FailedHost != "host3" || slices.Contains(r.HostsChanged, "host3") || !slices.Contains(r.HostsChanged, "host1") {
		t.Errorf("history: failed %q changed %v", r.FailedHost, r.HostsChanged)
	}
	rep := stopLoad()
	if rep.Failures != 0 {
		t.Errorf("%d of %d requests failed", rep.Failures, rep.Requests)
	}
	t.Logf("unreachable host: %d requests, %d failed", rep.Requests, rep.Failures)
	thaw()
	x.requireAllOn(good)
}
