// Package deploy is the orchestrator: the phases of a rollout (lock,
// resolve, plan, preflight, stage, promote, finalize, unlock), the per-host
// pipeline, rollback and abort, and the events they emit. It consumes small
// interfaces declared here (Runner, Pooler, Check, StateStore, Source) so
// that each can be faked in tests and backed by pkg/* for real.
package deploy
