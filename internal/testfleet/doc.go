// Package testfleet is a test harness, not part of the deployctl binary: it
// gives integration tests a real local fleet. It lives in internal/testfleet,
// beside the other harnesses, because pkg/ holds only what the binary uses;
// cmd/deployctl's layout test checks that the binary never imports it.
//
// The fleet is N hosts at 127.0.1.1..N, each with its own OpenSSH sshd and
// its own /srv (a private mount namespace), HAProxy with its runtime API,
// etcd with conftool pool keys and a sync process that applies them to
// HAProxy, Prometheus scraping every host, and the example app's git
// repository. The fleet is built and run by testdata/fleet/fleet.sh from
// Debian's packages.
//
// A package that needs the fleet starts it once for its test binary:
//
//	func TestMain(m *testing.M) { os.Exit(testfleet.Main(m, testfleet.Options{})) }
//
//	func TestRollout(t *testing.T) {
//		f := testfleet.Get(t) // starts the fleet on first use
//		out := f.Run(t, "host1", "cat", "/srv/deploy/exampleapp/current/VERSION")
//		...
//	}
//
// The tests of one package share the fleet: a test that changes it (a pool
// key, the version running on a host) restores it in t.Cleanup. StartApp
// and StopApp start a given version by hand; StartAppScap starts one from a
// release laid out as scap3 lays it out (a git checkout, no deployctl
// marker), and WipeDeploy leaves a host never deployed to, for adoption and
// first-rollout tests; RestoreStandard puts every host back the way the
// fleet started (v1, deployctl layout, pooled). Run and Exec run commands on
// a host through the system ssh client; ServerStatus and HAProxyCommand
// read and drive HAProxy through pkg/pool's runtime API client.
//
// HAProxy is strict by default: `retries 0` and no redispatch, like a
// production LVS/PyBal balancer, so a request sent to a stopped host fails
// and a rollout that loses no request really drained its hosts.
// Options.ForgivingLB asks for `retries 3` and `option redispatch` instead.
//
// go test runs packages in parallel, so Main serializes fleet users across
// test binaries with an exclusive flock on Options.LockFile (bounded wait).
// The fleet starts lazily on the first Get, after a clean of what an earlier,
// interrupted run may have left in Options.Dir, and is stopped by PID when the
// tests end; Main fails the run if any fleet process survives.
//
// When the fleet cannot start because something it needs is missing (a
// Debian package, root, mount namespaces), Get skips the test with the
// reason — unless CI=true, where it fails. Under -short, Get skips. Outside
// CI, the helper never installs packages (FLEET_NO_INSTALL=1); under CI=true
// fleet.sh installs what is missing through install-deps.sh.
//
// The test fleet uses its own ports (see DefaultPorts), so it can run beside
// a demo fleet from `make fleet-up`.
package testfleet
