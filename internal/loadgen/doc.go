// Package loadgen is a test harness, not part of the deployctl binary: it
// sends bounded HTTP load and reports what came back, the traffic a rollout
// must not disturb, sent through the fleet's HAProxy in integration tests
// (with internal/testfleet) and in the demo (testdata/fleet/load). It lives
// in internal/loadgen because pkg/ holds only what the binary uses;
// cmd/deployctl's layout test checks that the binary never imports it.
//
// It runs in one of two shapes: a constant Rate (requests per second, open
// loop: a tick that finds every worker busy and a backlog of Workers ticks
// waiting is counted as Dropped rather than delayed), or, with Rate zero, Workers sending back to back (closed loop).
// It always stops by itself, after Duration or MaxRequests, whichever comes
// first; in-flight requests finish within Timeout.
//
// A failure is a transport error or a status >= 500; failures are counted by
// kind ("status 503", "timeout", "connection refused", "connection reset",
// "transport"). Latency is measured for every completed request.
//
//	rep, err := loadgen.Run(ctx, loadgen.Options{URL: f.LBURL + "/", Rate: 50, Duration: 20 * time.Second})
//	if rep.Failures > 0 { t.Errorf("rollout dropped traffic: %s", rep) }
package loadgen
