package main

// End-to-end tests of the failure paths on the real fleet, under constant
// load through the strict load balancer (retries 0, no redispatch): a
// failure on a host other than the first, in a batch, within
// failure_limit, on a first rollout, during rollback, with an operator's
// manual depool in place. Each asserts 0 failed requests, the exit code,
// and what the fleet really shows: etcd's pool keys, HAProxy's view, and
// what each host runs.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/internal/loadgen"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/state"
)

// failOverlay is the test overlay with a command check that fails on a
// host while /srv/fail-<rev its current points at> exists there, so a test
// makes a chosen host fail on a chosen rev (see failHost). min_pooled 1
// lets a 3-host fleet take two out (batches, manual depools). extra is
// more rollout settings.
func failOverlay(extra string) string {
	return `
service:
  port_timeout: 4s
ssh:
  command_timeout: 15s
pool:
  min_pooled: "1"
checks:
  - {name: healthz, type: http, stage: depooled, url: "http://{address}:{port}/healthz", expect_status: 200, timeout: 5s}
  - name: fail-marker
    type: command
    stage: depooled
    timeout: 5s
    argv: [sh, -c, 'r=$(basename "$(readlink {current_dir})"); if test -e "/srv/fail-$r"; then echo "fail marker for $r"; exit 1; fi']
rollout:
  canary_wait: 0s
` + extra
}

// failHost makes host's checks fail while it runs rev, until the test ends.
func (x *e2e) failHost(host, rev string) {
	x.t.Helper()
	p := "/srv/fail-" + rev
	x.f.Run(x.t, host, "touch", p)
	x.t.Cleanup(func() { x.f.Run(x.t, host, "rm", "-f", p) })
}

// hostView is what the fleet really shows about one host.
type hostView struct {
	Etcd    string // the pool key's pooled value
	LB      string // HAProxy's status of its server
	Current string // the rev its current points at ("" none)
	Serving bool   // its app answers /healthz with 200
}

// in is pooled in etcd and UP on HAProxy.
func (v hostView) in() bool { return v.Etcd == "yes" && strings.HasPrefix(v.LB, "UP") }

// out is depooled in etcd and taking no traffic on HAProxy.
func (v hostView) out() bool {
	return v.Etcd == "no" && (strings.HasPrefix(v.LB, "MAINT") || strings.HasPrefix(v.LB, "DOWN") || strings.HasPrefix(v.LB, "DRAIN"))
}

func (v hostView) String() string {
	return fmt.Sprintf("etcd pooled=%s lb=%s current=%s serving=%v", v.Etcd, v.LB, orNone(gitsrc.Short(v.Current)), v.Serving)
}

// view reads every host's pool key from etcd, its server's status from
// HAProxy, its current symlink over SSH and its health over HTTP.
func (x *e2e) view() map[string]hostView {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: x.f.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		x.t.Fatal(err)
	}
	defer cli.Close()
	lb, err := x.f.ServerStatus(ctx)
	if err != nil {
		x.t.Fatal(err)
	}
	out := map[string]hostView{}
	for _, h := range x.f.Hosts {
		v := hostView{LB: lb[h.Name]}
		resp, err := cli.Get(ctx, x.f.PoolKey(h.Name))
		if err != nil || len(resp.Kvs) == 0 {
			x.t.Fatalf("etcd %s: %v", x.f.PoolKey(h.Name), err)
		}
		var val struct{ Pooled string }
		json.Unmarshal(resp.Kvs[0].Value, &val)
		v.Etcd = val.Pooled
		link, _, _ := x.f.Exec(ctx, h.Name, nil, "readlink", path.Join(x.f.DeployDir, x.f.App, "current"))
		v.Current = path.Base(strings.TrimSpace(link))
		if strings.TrimSpace(link) == "" {
			v.Current = ""
		}
		_, _, err = x.f.Exec(ctx, h.Name, nil, "curl", "-fsS", "-m", "2", "-o", "/dev/null", h.AppURL()+"/healthz")
		v.Serving = err == nil
		out[h.Name] = v
	}
	return out
}

// requireView asserts each named host's rev, and whether it is in the
// pool: pooled in etcd and UP on HAProxy, or out in etcd and MAINT (or
// DOWN) on HAProxy.
func (x *e2e) requireView(want map[string]struct {
	rev    string
	pooled bool
}) map[string]hostView {
	x.t.Helper()
	got := x.view()
	for h, w := range want {
		v := got[h]
		if v.Current != w.rev || (w.pooled && !v.in()) || (!w.pooled && !v.out()) {
			x.t.Errorf("%s: %s; want rev %s pooled %v", h, v, orNone(gitsrc.Short(w.rev)), w.pooled)
		}
	}
	return got
}

type want = map[string]struct {
	rev    string
	pooled bool
}

// rolloutJSON runs a rollout with --output json and returns its exit code
// and summary.
func (x *e2e) rolloutJSON(args ...string) (int, map[string]any) {
	x.t.Helper()
	code, out, _ := x.run(append([]string{"rollout", "-o", "json"}, args...)...)
	var sum map[string]any
	for _, line := range strings.Split(out, "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil && ev["type"] == "summary" {
			sum, _ = ev["summary"].(map[string]any)
		}
	}
	if sum == nil {
		x.t.Fatalf("no summary in:\n%s", out)
	}
	return code, sum
}

func list(sum map[string]any, key string) []string {
	var out []string
	for _, v := range asSlice(sum[key]) {
		out = append(out, fmt.Sprint(v))
	}
	slices.Sort(out)
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// requireNoFailures asserts the load saw no failed request.
func (x *e2e) requireNoFailures(stop func() loadgen.Report) {
	x.t.Helper()
	rep := stop()
	if rep.Failures != 0 || rep.Requests == 0 {
		x.t.Errorf("%d of %d requests failed: %v", rep.Failures, rep.Requests, rep.FailuresByKind)
	}
}

// A failure on host 3 of a batch of two (host2, host3): both return, then
// host1; every host back on the good rev and pooled.
func TestE2EFailureInABatchOnHost3(t *testing.T) {
	x := newE2EWith(t, failOverlay("  batch_size: 2\n"))
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	x.failHost("host3", x.f.Rev(tag))
	stopLoad := x.load()
	code, sum := x.rolloutJSON(tag)
	x.requireNoFailures(stopLoad)
	if code != exitRolledBack || sum["failed_host"] != "host3" {
		t.Errorf("exit %d, failed host %v; want %d host3", code, sum["failed_host"], exitRolledBack)
	}
	if got := list(sum, "changed"); !slices.Equal(got, []string{"host1", "host2", "host3"}) {
		t.Errorf("changed %v", got)
	}
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
}

// failure_limit 1: host2 fails, returns, and the rollout goes on; exit 3
// says not every host is on the new rev.
func TestE2EFailureLimitOnHost2(t *testing.T) {
	x := newE2EWith(t, failOverlay("  failure_limit: 1\n"))
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	rev := x.f.Rev(tag)
	x.failHost("host2", rev)
	stopLoad := x.load()
	code, sum := x.rolloutJSON(tag)
	x.requireNoFailures(stopLoad)
	if code != exitRolledBack || !slices.Equal(list(sum, "tolerated"), []string{"host2"}) {
		t.Errorf("exit %d tolerated %v", code, sum["tolerated"])
	}
	x.requireView(want{"host1": {rev, true}, "host2": {good, true}, "host3": {rev, true}})
	// Put the fleet back on one rev for the next test.
	os.Remove(x.f.Host(t, "host2").Path("/srv/fail-" + rev))
	x.run("rollout", tag)
}

// host2 fails and host1 cannot return (its checks fail on the old rev
// too): exit 4, host1 named and left depooled, the others back and pooled.
// Then, the cause fixed, abort finishes the job.
func TestE2EHostThatCannotReturn(t *testing.T) {
	x := newE2EWith(t, failOverlay(""))
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	x.failHost("host2", x.f.Rev(tag))
	x.failHost("host1", good)
	stopLoad := x.load()
	code, sum := x.rolloutJSON(tag)
	x.requireNoFailures(stopLoad)
	if code != exitRollbackFailed || !slices.Equal(list(sum, "left_depooled"), []string{"host1"}) || !slices.Equal(list(sum, "not_returned"), []string{"host1"}) {
		t.Errorf("exit %d left depooled %v not returned %v; want %d [host1]", code, sum["left_depooled"], sum["not_returned"], exitRollbackFailed)
	}
	x.requireView(want{"host1": {good, false}, "host2": {good, true}, "host3": {good, true}})
	// The next rollout is refused until abort finishes.
	if code, _, errOut := x.run("rollout", tag); code != exitLocked || !strings.Contains(errOut, "deployctl abort") {
		t.Errorf("rollout after a failed rollback: exit %d: %s", code, errOut)
	}
	os.Remove(x.f.Host(t, "host1").Path("/srv/fail-" + good))
	if code, _, errOut := x.run("abort"); code != exitOK {
		t.Fatalf("abort: exit %d: %s", code, errOut)
	}
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
}

// --initial on hosts that ran nothing (host1, host2; host3 serves the old
// rev): a failure on host2 stops host2 and host1, each only after it is
// out of the pool, and names them; host3 keeps serving. Then a failure on
// host1 itself.
func TestE2EInitialFailure(t *testing.T) {
	x := newE2EWith(t, failOverlay(""))
	good := x.status().Hosts[2].Rev
	tag := pickOther(x, good)
	rev := x.f.Rev(tag)
	t.Cleanup(func() {
		for _, h := range []string{"host1", "host2"} {
			x.f.StartApp(t, h, map[string]string{x.f.Rev("v1"): "v1", x.f.Rev("v2"): "v2"}[good])
			x.f.SetPooled(t, h, "yes")
		}
		x.settleUp(t)
	})
	for _, tc := range []struct {
		name, bad string
		left      []string
	}{
		{"host 2 of 3", "host2", []string{"host1", "host2"}},
		{"host 1", "host1", []string{"host1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x.t = t
			for _, h := range []string{"host1", "host2"} {
				x.f.StopApp(t, h)
				x.f.SetPooled(t, h, "yes")
				x.f.Run(t, h, "rm", "-rf", path.Join(x.f.DeployDir, x.f.App))
			}
			x.failHost(tc.bad, rev)
			stopLoad := x.load()
			code, sum := x.rolloutJSON(tag, "--initial")
			x.requireNoFailures(stopLoad)
			if code != exitRollbackFailed || !slices.Equal(list(sum, "left_depooled"), tc.left) {
				t.Errorf("exit %d left depooled %v, want %d %v", code, sum["left_depooled"], exitRollbackFailed, tc.left)
			}
			v := x.view()
			for _, h := range tc.left {
				if !v[h].out() || v[h].Serving {
					t.Errorf("%s: %s; want depooled (etcd no, not UP on HAProxy) and stopped", h, v[h])
				}
			}
			if v["host3"].Etcd != "yes" || !strings.HasPrefix(v["host3"].LB, "UP") || v["host3"].Current != good {
				t.Errorf("host3: %s; want untouched on %s", v["host3"], gitsrc.Short(good))
			}
			// Abort after a failed first rollout has nothing to return to
			// for these hosts; clear the record for the next case.
			s, _ := state.Open(x.state)
			st, _ := s.Load(x.env)
			st.Current = nil
			s.Save(x.env, st)
		})
	}
}

// An operator's manual depool of host3 holds across a good rollout, a
// rolled-back one and an abort; pool repool then puts it back, and a
// second repool says it did nothing.
func TestE2EManualDepoolSurvives(t *testing.T) {
	x := newE2EWith(t, failOverlay(""))
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	rev := x.f.Rev(tag)
	if code, _, errOut := x.run("pool", "depool", "host3"); code != exitOK {
		t.Fatalf("pool depool host3: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { x.f.SetPooled(t, "host3", "yes"); x.settleUp(t) })
	stopLoad := x.load()
	code, sum := x.rolloutJSON(tag)
	if code != exitOK || !slices.Equal(list(sum, "left_alone"), []string{"host3"}) {
		t.Errorf("good rollout: exit %d, left alone %v", code, sum["left_alone"])
	}
	x.requireView(want{"host1": {rev, true}, "host2": {rev, true}, "host3": {rev, false}})

	x.failHost("host2", x.f.Rev(pickOther(x, rev)))
	code, _ = x.rolloutJSON(pickOther(x, rev))
	if code != exitRolledBack {
		t.Errorf("failing rollout: exit %d, want %d", code, exitRolledBack)
	}
	x.requireView(want{"host1": {rev, true}, "host2": {rev, true}, "host3": {rev, false}})

	if code, _, errOut := x.run("abort"); code != exitOK {
		t.Errorf("abort: exit %d: %s", code, errOut)
	}
	x.requireNoFailures(stopLoad)
	x.requireView(want{"host3": {rev, false}})

	if code, out, _ := x.run("pool", "repool", "host3"); code != exitOK || !strings.Contains(out, "host3 repooled") {
		t.Errorf("pool repool host3: exit %d: %s", code, out)
	}
	x.requireView(want{"host3": {rev, true}})
	if code, _, errOut := x.run("pool", "repool", "host3"); code == exitOK || !strings.Contains(errOut, "nothing") {
		t.Errorf("second pool repool: exit %d: %s; want a non-zero exit saying nothing was done", code, errOut)
	}
}

// An abort request left from before (nobody was running to see it) must
// not stop the next rollout.
func TestE2EStaleAbortRequestIsCleared(t *testing.T) {
	x := newE2E(t)
	tag := pickOther(x, x.status().Hosts[0].Rev)
	s, err := state.Open(x.state)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestAbort(x.env, state.Owner{Command: "abort", Message: "yesterday"}); err != nil {
		t.Fatal(err)
	}
	stopLoad := x.load()
	code, _, errOut := x.run("rollout", tag)
	x.requireNoFailures(stopLoad)
	if code != exitOK || !strings.Contains(errOut, "stale abort request") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	x.requireAllOn(x.f.Rev(tag))
}

// SIGTERM and SIGHUP (the operator's SSH session drops) stop a rollout at
// the next step and roll it back, as SIGINT does.
func TestE2ESignalsRollBack(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			x := newE2E(t)
			good, cmd, wait, stopLoad := x.midRollout()
			cmd.Process.Signal(sig)
			if c := wait(); c != exitRolledBack {
				t.Errorf("exit %d, want %d", c, exitRolledBack)
			}
			x.requireNoFailures(stopLoad)
			x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
		})
	}
}

// A rollout whose stdout is a pipe nobody reads any more (the operator's
// `| head` ended) does not die of SIGPIPE half way: it finishes.
func TestE2EClosedStdoutDoesNotKillARollout(t *testing.T) {
	x := newE2E(t)
	good := x.status().Hosts[0].Rev
	tag := pickOther(x, good)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // every write to stdout now fails with EPIPE
	cmd := exec.Command(binary(t), x.args("rollout", tag)...)
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stopLoad := x.load()
	err = cmd.Run()
	w.Close()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("rollout killed by %s; stderr:\n%s", ws.Signal(), stderr.String())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	if code != exitOK {
		t.Errorf("rollout with a closed stdout: exit %d; stderr:\n%s", code, stderr.String())
	}
	x.requireNoFailures(stopLoad)
	rev := x.f.Rev(tag)
	x.requireView(want{"host1": {rev, true}, "host2": {rev, true}, "host3": {rev, true}})
}
