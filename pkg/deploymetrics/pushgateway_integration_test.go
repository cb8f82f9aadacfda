package deploymetrics_test

// The integration test against Debian's real Pushgateway
// (prometheus-pushgateway), started by testfleet.StartPushgateway.

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/deployctl/deployctl/internal/testfleet"
	"github.com/deployctl/deployctl/pkg/deploymetrics"
)

// groupMetrics reads the gateway's /metrics and returns the families of
// deployctl with only the series of app and env.
func groupMetrics(t *testing.T, base, app, env string) map[string][]*dto.Metric {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	out := map[string][]*dto.Metric{}
	for name, f := range parseText(t, body) {
		if !bytes.HasPrefix([]byte(name), []byte("deployctl_")) {
			continue
		}
		if want, ok := wantTypes[name]; !ok || f.GetType() != want {
			t.Errorf("gateway has family %s of type %v", name, f.GetType())
		}
		for _, m := range f.GetMetric() {
			l := labelMap(m)
			if l["app"] == app && l["env"] == env {
				if l["job"] != "deployctl" {
					t.Errorf("%s: job label %q", name, l["job"])
				}
				out[name] = append(out[name], m)
			}
		}
	}
	return out
}

// gatewayState is what a test expects the gateway to show for one group.
type gatewayState struct {
	rollouts     map[string]float64
	rollbacks    float64
	hostsChanged float64
	lastHosts    float64
	inProgress   float64
	lastDuration float64   // -1: absent
	lastSuccess  time.Time // zero: absent
	rev, config  string    // rev "": no info series
}

func checkGateway(t *testing.T, step string, got map[string][]*dto.Metric, want gatewayState) {
	t.Helper()
	one := func(name string) (float64, bool) {
		ms := got[name]
		if len(ms) == 0 {
			return 0, false
		}
		if len(ms) > 1 {
			t.Errorf("%s: %s has %d series, want 1", step, name, len(ms))
		}
		return value(ms[0]), true
	}
	rollouts := map[string]float64{}
	for _, m := range got["deployctl_rollouts_total"] {
		rollouts[labelMap(m)["outcome"]] = value(m)
	}
	for _, o := range deploymetrics.Outcomes() {
		if rollouts[o] != want.rollouts[o] {
			t.Errorf("%s: rollouts_total{outcome=%q} = %v, want %v", step, o, rollouts[o], want.rollouts[o])
		}
	}
	if len(rollouts) != 5 {
		t.Errorf("%s: rollouts_total outcomes %v, want the five", step, rollouts)
	}
	for name, w := range map[string]float64{
		"deployctl_rollbacks_total":     want.rollbacks,
		"deployctl_hosts_changed_total": want.hostsChanged,
		"deployctl_last_hosts_changed":  want.lastHosts,
		"deployctl_rollout_in_progress": want.inProgress,
	} {
		if v, ok := one(name); !ok || v != w {
			t.Errorf("%s: %s = %v (present %v), want %v", step, name, v, ok, w)
		}
	}
	if v, ok := one("deployctl_last_duration_seconds"); want.lastDuration < 0 {
		if ok {
			t.Errorf("%s: last_duration_seconds present before any finish", step)
		}
	} else if !ok || v != want.lastDuration {
		t.Errorf("%s: last_duration_seconds = %v (present %v), want %v", step, v, ok, want.lastDuration)
	}
	if v, ok := one("deployctl_last_success_timestamp_seconds"); want.lastSuccess.IsZero() {
		if ok {
			t.Errorf("%s: last_success_timestamp_seconds present before any success", step)
		}
	} else if w := float64(want.lastSuccess.UnixMilli()) / 1000; !ok || math.Abs(v-w) > 1e-3 {
		t.Errorf("%s: last_success_timestamp_seconds = %v (present %v), want %v", step, v, ok, w)
	}
	infos := got["deployctl_deployed_info"]
	switch {
	case want.rev == "" && len(infos) != 0:
		t.Errorf("%s: deployed_info present before a rev is known", step)
	case want.rev != "" && len(infos) != 1:
		t.Errorf("%s: %d deployed_info series, want exactly 1 (the old rev's must be gone)", step, len(infos))
	case want.rev != "":
		l := labelMap(infos[0])
		if l["rev"] != want.rev || l["config_version"] != want.config || value(infos[0]) != 1 {
			t.Errorf("%s: deployed_info %v = %v, want rev %q config_version %q = 1", step, l, value(infos[0]), want.rev, want.config)
		}
	}
}

func TestPushgatewayReal(t *testing.T) {
	base := testfleet.StartPushgateway(t) // make deps installs it; under CI=true a missing one fails

	// An app with a slash goes in the @base64 form of the grouping key.
	const app, env = "team/web", "production"
	cfg := deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: base}}
	write := func(c deploymetrics.Counters) {
		t.Helper()
		if err := deploymetrics.Write(context.Background(), cfg, app, env, c); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	t3 := t2.Add(time.Hour)

	// A rollout starts: SREs see it running.
	var c deploymetrics.Counters
	c.Start()
	write(c)
	checkGateway(t, "started", groupMetrics(t, base, app, env), gatewayState{
		rollouts: map[string]float64{}, inProgress: 1, lastDuration: -1,
	})

	// It succeeds.
	c.Finish(deploymetrics.OutcomeDone, 42*time.Second, 3, false, "aaaa1111", "cfg-1", t1)
	write(c)
	checkGateway(t, "success", groupMetrics(t, base, app, env), gatewayState{
		rollouts: map[string]float64{"done": 1}, hostsChanged: 3, lastHosts: 3,
		lastDuration: 42, lastSuccess: t1, rev: "aaaa1111", config: "cfg-1",
	})

	// The next rollout runs from another deploy host, from the stored
	// counters; it fails and is rolled back to last good.
	c = roundTrip(t, c)
	c.Start()
	c.Finish(deploymetrics.OutcomeRolledBack, 17*time.Second, 2, true, "aaaa1111", "cfg-1", t2)
	write(c)
	checkGateway(t, "rolled back", groupMetrics(t, base, app, env), gatewayState{
		rollouts: map[string]float64{"done": 1, "rolled-back": 1}, rollbacks: 1, hostsChanged: 5, lastHosts: 2,
		lastDuration: 17, lastSuccess: t1, rev: "aaaa1111", config: "cfg-1",
	})

	// A new revision goes out: the info series is replaced, not added.
	c.Start()
	c.Finish(deploymetrics.OutcomeDone, 30*time.Second, 3, false, "bbbb2222", "cfg-2", t3)
	write(c)
	checkGateway(t, "new rev", groupMetrics(t, base, app, env), gatewayState{
		rollouts: map[string]float64{"done": 2, "rolled-back": 1}, rollbacks: 1, hostsChanged: 8, lastHosts: 3,
		lastDuration: 30, lastSuccess: t3, rev: "bbbb2222", config: "cfg-2",
	})

	// A wrong URL path on a real gateway (404) is an error naming the URL.
	bad := deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: base + "/nonexistent-prefix"}}
	if err := deploymetrics.Write(context.Background(), bad, app, env, c); err == nil {
		t.Error("no error from a wrong path on a real gateway")
	} else {
		t.Logf("wrong path: %v", err)
	}
}
