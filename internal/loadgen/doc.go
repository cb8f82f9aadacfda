// Package loadgen sends bounded HTTP load and reports what came back: the
// traffic a rollout must not disturb, sent through the fleet's HAProxy in
// integration tests and in the demo.
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
