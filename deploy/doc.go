// Package deploy is the orchestrator: it owns a run from request to
// history.
//
// A Deployer takes one Request (rollout, rollback, promote) through the
// phases of DESIGN.md: lock, prepare (pin the rev, render configuration,
// the schema guard), confirm, preflight, stage, promote — each host
// through the per-host pipeline, group by group, batch by batch — then,
// on any failure, the rollback of every changed host to its restore point
// (what it ran before), and finalize (prune, last good, history). Abort
// stops a running rollout or, when its process died, restores the hosts
// itself.
//
// The parts are small interfaces declared here and backed by pkg/* for
// real (wire.go): Connector and Runner (pkg/sshx), Pooler (pkg/pool),
// Releaser (pkg/release), Checker (checks), Configurer (pkg/configset),
// Source (pkg/gitsrc), StateStore (pkg/state) and UI (the command line).
// An Engine holds the wired parts of one environment; each Rollout or
// Restore runs as its own run value, which holds everything that run
// changes, so two runs never share state. A run records itself in the
// state store as it goes (record.go), so that a later abort knows what
// each host was doing; events (events.go) are for people and logs only.
//
// Words used the same way in code, docs and output: a run is one rollout
// or restore; a request is what was asked; a step is one stage of a
// host's pipeline (Step); a restore point is what a host ran before the
// run touched it (RestorePoint).
package deploy
