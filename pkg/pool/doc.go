// Package pool takes hosts out of traffic and puts them back, safely.
//
// A Backend does it one host at a time: etcd (conftool's key layout and JSON
// value, written with compare-and-swap), haproxy (the runtime API: drain,
// wait for sessions, maint; ready, wait for UP) or none (no load balancer).
// Every backend keeps the same contract, checked by pooltest.RunConformance:
// it depools only a host that was pooled, leaves a host that someone else
// depooled alone (ErrNotPooled), and Repool restores exactly what Depool
// found, weight included.
//
// A Pool puts a Backend together with the hosts of one environment and the
// depool budget (min_pooled); it is the one pool deployctl uses (deploy's
// PoolHosts is only its view by inventory host name). Before a depool, a
// budget check counts the hosts that are pooled and up, counts those whose
// depool is under way in this process as already out, and refuses a depool
// that would leave fewer than the budget, naming the hosts already out.
// Pool.Depool checks and depools a batch in one go; Pool.CheckBudget alone
// is the check a caller makes before a batch it then takes out with
// Pool.DepoolUnchecked, as a rollout does (it also takes a failed host out
// whatever the budget); with backend none deploy skips the check, as there
// is no load balancer to keep serving. Pool.Status, the whole-pool
// listing behind "deployctl pool status" and every budget check, reads a
// bounded number of hosts at a time.
//
// Every call is bounded: each network round trip by its own timeout, each
// wait by drain_timeout or verify_timeout. A zero timeout in Config means the
// named default, never forever.
package pool
