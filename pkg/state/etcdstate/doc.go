// Package etcdstate is the etcd backend of the state store: several deploy
// hosts and operators share one lock and one record of each environment.
// *Store has deploy.StateStore's method set over pkg/state's types (it
// does not import deploy; cmd wires it in).
//
// # Keys
//
// Under Config.Prefix (default /deployctl/), one directory per environment:
//
//	<prefix><env>/lock          state.Owner as JSON, attached to the holder's lease
//	<prefix><env>/state         state.State as JSON
//	<prefix><env>/history/<id>  one state.Record as JSON per run, created once
//	<prefix><env>/abort         state.Owner of a pending abort request
//
// Environment names and run IDs follow pkg/state's rule ([A-Za-z0-9._-]).
// History lists the last records oldest first, newest last (as pkg/state
// does), by the keys' create revisions, which is the order the records
// were appended. Run logs are not in etcd: LogFile
// and LogPath write under Config.LogDir on the deploy host, as pkg/state
// does.
//
// # Lock, lease and deadline
//
// Lock grants a lease of LeaseTTL (12s), keeps it alive with the client's
// KeepAlive, and creates the lock key with that lease only if it is absent
// (CreateRevision = 0), every 200ms until the wait passes. The key lives
// as long as the lease: a holder that dies, or loses etcd, loses the key
// within the TTL, and nothing is left to clean up. The lease is not tied
// to Lock's context (a rollback after the first interrupt still needs the
// lock); Release revokes it.
//
// A process must stop trusting its lock before etcd expires the lease.
// The keepalive channel says nothing while etcd is unreachable (the
// client retries; it closes the channel only a TTL after the last
// answer), so the store keeps its own deadline: the time of the last
// keepalive answer plus the TTL minus a third of the TTL, on the
// monotonic clock. When the deadline passes, or etcd says the lease is
// gone, the lock is lost: Lock.Lost closes, the keepalive stops and the
// lease is revoked (best effort), and every later write refuses with
// ErrLockLost. The margin covers the answer's own travel time and a late
// timer; it assumes no answer takes a third of the TTL to arrive.
//
// An orphan is a state that records a run in progress (State.Current)
// with no lock key: its process died or lost its lease. Holder reports
// its owner (State.Current.By) as not alive, the next Lock returns it as
// Lock.Stale, and ForceRelease has nothing to clear (the record stays for
// abort) but refuses while a live holder exists.
//
// # What is fenced
//
// Save and Append are transactions whose If says the lock key still has
// our create revision and lease; Save also compares the state key's mod
// revision with the one this process last read or wrote (optimistic
// concurrency: a record someone else moved is ErrStateMoved). A failed
// comparison writes nothing. Without the lock, Save and Append are
// ErrNotLocked: every caller holds the lock (a run, abort, Migrate), and
// read-only tools never write. Abort requests are not fenced: the
// requester does not hold the lock.
//
// Fence gives those lock comparisons to other writers of the same etcd
// cluster, such as the pool's conftool keys, for their own transactions;
// without a live lock it returns a comparison that never holds, so a
// fenced write fails closed. Writes that etcd cannot fence — HAProxy's
// runtime API — are only as safe as the caller's Check (the lock still
// ours, locally and in etcd) just before each one; a lock lost between
// the check and the write is not seen.
package etcdstate
