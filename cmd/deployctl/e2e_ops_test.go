package main

// End-to-end tests of the operator commands on the real fleet: check,
// pool status/depool/repool, stage.

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestE2ECheckCommand(t *testing.T) {
	x := newE2E(t)
	good := x.status().Hosts[2].Rev
	code, out, _ := x.run("check", "--host", "host3", "--stage", "depooled", "--window", "1s")
	if code != exitOK || !strings.Contains(out, "0 failed") {
		t.Fatalf("check on a good host: exit %d\n%s", code, out)
	}
	// Put host3 back on the fleet's rev afterwards, through deployctl.
	defer func() {
		stopLoad := x.load()
		defer stopLoad()
		if code, _, _ := x.run("rollout", good, "--initial"); code != exitOK {
			t.Errorf("restoring host3: exit %d", code)
		}
	}()
	for _, tc := range []struct{ tag, check, evidence string }{
		{"bad-health", "healthz", "status 503"},
		{"bad-log", "errors-in-log", "FATAL"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			x.f.StartApp(t, "host3", tc.tag)
			code, out, _ := x.run("check", "--host", "host3", "--stage", "depooled", "--window", "1s")
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if !strings.Contains(out, tc.check) || !strings.Contains(out, tc.evidence) {
				t.Errorf("want %s failing with %q in:\n%s", tc.check, tc.evidence, out)
			}
		})
	}
}

func TestE2EPoolCommands(t *testing.T) {
	x := newE2E(t)
	code, out, _ := x.run("pool", "status", "-o", "json")
	var rows []poolRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 3 {
		t.Fatalf("pool status: exit %d\n%s", code, out)
	}
	if code, out, _ := x.run("pool", "depool", "host1"); code != 0 || !strings.Contains(out, "host1 depooled") {
		t.Fatalf("depool host1: exit %d", code)
	}
	// min_pooled 50% of 3 keeps 2 serving: a second depool is refused and
	// names the host already out.
	code, _, errOut := x.run("pool", "depool", "host2")
	if code == 0 || !strings.Contains(errOut, "already out: host1") {
		t.Errorf("second depool: exit %d: %s", code, errOut)
	}
	if code, _, _ := x.run("pool", "repool", "host1"); code != 0 {
		t.Fatalf("repool host1: exit %d", code)
	}
	x.requireAllOn(x.status().Hosts[0].Rev)
}

func TestE2EStageSendsNothingTwice(t *testing.T) {
	x := newE2E(t)
	if code, _, _ := x.run("stage", "bad-start"); code != 0 {
		t.Fatalf("stage: exit %d", code)
	}
	code, out, _ := x.run("stage", "bad-start")
	if code != 0 || !strings.Contains(out, " 0 bytes sent") {
		t.Errorf("second stage: exit %d\n%s", code, out)
	}
}
