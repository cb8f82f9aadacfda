package main

// End-to-end tests of the operator commands on the real fleet: check,
// pool status/depool/repool, stage.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// deployctl check, changing nothing: a good version passes every stage
// under load; each bad version, started by hand on host3, fails with what
// the check saw.
func TestE2ECheckCommand(t *testing.T) {
	x := newE2E(t)
	good := x.status().Hosts[2].Rev
	stopLoad := x.load()
	defer stopLoad()
	code, out, _ := x.run("check", "--host", "host3", "--window", "1s")
	if code != exitOK || !strings.Contains(out, " 0 failed") {
		t.Fatalf("check on a good host: exit %d\n%s", code, out)
	}
	// Put host3 back on the fleet's release afterwards.
	tag := map[string]string{x.f.Rev("v1"): "v1", x.f.Rev("v2"): "v2"}[good]
	if tag == "" {
		t.Fatalf("host3 runs %s, not a fleet tag this test can restore", gitsrc.Short(good))
	}
	defer func() {
		x.f.StartApp(t, "host3", tag)
		x.settleUp(t)
	}()
	for _, tc := range []struct{ tag, check, evidence string }{
		{"bad-start", "healthz", "connection refused"},
		{"bad-health", "healthz", "status 503"},
		{"bad-log", "errors-in-log", "FATAL"},
		{"bad-5xx", "http-5xx", "max_error_ratio"},
		{"bad-slowbind", "healthz", "connection refused"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			x.f.StartApp(t, "host3", tc.tag)
			code, out, _ := x.run("check", "--host", "host3", "--window", "1s")
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			failed := false
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				failed = failed || len(f) >= 5 && f[1] == tc.check && f[4] == "fail"
			}
			if !failed || !strings.Contains(out, tc.evidence) {
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
