package main

import (
	"path"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// A fleet that scap3 deployed — revs/<sha> git checkouts, a relative
// current, no deployctl marker — is adopted as it is: status shows the
// adopted releases, staging sends nothing into them and restarts nothing,
// a failing first rollout returns host1 and host2 to the git checkout,
// and a good one then moves the fleet on. All under load through the
// strict load balancer.
func TestE2EAdoptScapFleet(t *testing.T) {
	x := newE2EWith(t, failOverlay(""))
	t.Cleanup(func() { x.f.RestoreStandard(t) })
	good := x.f.Rev("v1")
	for _, h := range x.f.Hosts {
		x.f.StartAppScap(t, h.Name, "v1")
	}
	x.settleUp(t)
	pids := map[string]int{}
	for _, h := range x.f.Hosts {
		pids[h.Name] = x.f.AppPID(t, h.Name)
	}
	rep := x.status()
	for _, h := range rep.Hosts {
		if h.Rev != good || h.Origin != "git" || h.Error != "" {
			t.Errorf("status %s: rev %s origin %q err %q; want %s adopted from git", h.Host, gitsrc.Short(h.Rev), h.Origin, h.Error, gitsrc.Short(good))
		}
	}
	checkout := path.Join(x.f.DeployDir, x.f.App, "revs", good)
	head := func(host string) string {
		return strings.TrimSpace(x.f.Run(t, host, "cat", checkout+"/.git/HEAD"))
	}

	stopLoad := x.load()
	v2 := x.f.Rev("v2")
	x.failHost("host2", v2)
	code, sum := x.rolloutJSON("v2")
	if code != exitRolledBack || sum["failed_host"] != "host2" {
		t.Errorf("failing first rollout: exit %d failed %v; want %d host2", code, sum["failed_host"], exitRolledBack)
	}
	x.requireView(want{"host1": {good, true}, "host2": {good, true}, "host3": {good, true}})
	for _, h := range x.f.Hosts {
		if got := head(h.Name); got != good {
			t.Errorf("%s: the adopted checkout's HEAD is %q, want %s", h.Name, got, good)
		}
		link := strings.TrimSpace(x.f.Run(t, h.Name, "readlink", path.Join(x.f.DeployDir, x.f.App, "current")))
		if link != "revs/"+good {
			t.Errorf("%s: current -> %q, want revs/%s", h.Name, link, good)
		}
		if out := x.f.Run(t, h.Name, "sh", "-c", `cd "$1" && git status --porcelain`, "sh", checkout); strings.TrimSpace(out) != "" {
			t.Errorf("%s: deployctl wrote into the adopted checkout: %s", h.Name, out)
		}
	}
	if pid := x.f.AppPID(t, "host3"); pid != pids["host3"] {
		t.Errorf("host3 was restarted (pid %d, was %d) though the rollout never reached it", pid, pids["host3"])
	}

	x.f.Run(t, "host2", "rm", "-f", "/srv/fail-"+v2)
	code, _ = x.rolloutJSON("v2")
	x.requireNoFailures(stopLoad)
	if code != exitOK {
		t.Errorf("good rollout after adoption: exit %d", code)
	}
	x.requireView(want{"host1": {v2, true}, "host2": {v2, true}, "host3": {v2, true}})
}
