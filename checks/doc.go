// Package checks decides whether a host is healthy after its restart: it
// waits for the service port, asks HTTP endpoints, runs commands, reads the
// log entries written since the stop, and asks Prometheus (or the host's own
// /metrics) about error rates. Each check is bounded by its timeout, and a
// failure wraps ErrFailed and says what it saw: the status and body excerpt,
// the matching log lines, the metric values and the threshold, the command's
// stderr tail.
//
// # Configuration
//
// A check is one Spec in the configuration's checks list (strict YAML: every
// kind's fields live in Spec, and a field that does not apply to the check's
// type is reported by Validate). Strings marked "template" in the field docs
// are filled per host with pkg/hosttmpl: {host}, {address}, {port}, the
// inventory vars, and {others} (the pool's other hosts as a regex alternation,
// for relative metric queries). Regexes are never templates. PromQL label
// braces must be written doubled in a template, because "{{" is hosttmpl's
// literal "{":
//
//	query: 'sum(rate(http_requests_total{{host=~"{host}",code=~"5.."}[1m]))'
//
// # Use
//
// The orchestrator builds a Set once from the configured specs, and for each
// host:
//
//	set, err := checks.New(specs)                      // validates and compiles
//	base, err := set.Prepare(ctx, target)               // before the stop
//	// stop, activate, start
//	res := set.Run(ctx, checks.StageDepooled, target, base) // before repool
//	if err := checks.Failures(res); err != nil { ... roll back ... }
//	// repool
//	res = set.Run(ctx, checks.StagePooled, target, base)    // the soak
//
// and once after the canary group and canary_wait, for each canary host,
// set.Run(ctx, checks.StageCanary, target, base) with that host's baseline.
//
// Prepare records what some checks need from before the stop: the log file's
// identity (device, inode), size and a fingerprint of its last bytes, the
// host's clock (for journald's --since), and, for relative log checks, the
// share of matching entries before the stop. Run then reads only what came
// after. `deployctl check`, which restarts nothing, can call Prepare, wait a
// window, and call Run: the log checks then judge the entries written during
// that window.
//
// WaitPort is the port wait on its own, for a pipeline step that waits for
// the service port outside any configured check.
//
// Within a stage, port checks run first, in order; if one fails, the stage's
// other checks are skipped (they would only fail more slowly). The rest run
// concurrently, each under its own timeout, and results come back in
// configuration order.
//
// # Verdicts
//
// A metric check takes count measurements, interval apart. Each measurement
// passes, fails, or is inconclusive (no data, NaN, too few requests, or an
// error asking for the data). As in Argo Rollouts' analysis, the check fails
// as soon as failures exceed failure_limit, inconclusive measurements exceed
// inconclusive_limit, or consecutive errors exceed consecutive_error_limit;
// it also fails when no measurement passed at all. Limits spent on
// inconclusive results fail the check with ErrInconclusive, so a check that
// could not see anything never lets a release through. The other kinds make
// one judgement (the HTTP check retries within its timeout first).
//
// Remote work goes through Runner, which *sshx.Client satisfies. Remote
// commands are argv only; where a pipe is needed, the script is a constant
// and every value is a positional argument of sh -c.
package checks
