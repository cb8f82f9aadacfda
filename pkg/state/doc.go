// Package state keeps what the deploy host knows about each environment: the
// lock that lets one rollout run at a time, the state (last good, the one
// before it, a rollout in progress, each host's last known rev), the history
// of past rollouts, abort requests and per-rollout log files.
//
// This is the local-files store, the default: one directory per deploy host
// (the XDG state directory or --state-dir), laid out as
//
//	<dir>/envs/<env>/lock          flock(2) target, never removed
//	<dir>/envs/<env>/lock.json     the holder: Owner as JSON
//	<dir>/envs/<env>/state.json    State, replaced atomically
//	<dir>/envs/<env>/history.jsonl one Record per line, appended
//	<dir>/envs/<env>/abort         an abort request: Owner as JSON
//	<dir>/envs/<env>/logs/<id>.log one log file per rollout
//
// Files are created 0600 and directories 0700: they name hosts and users.
// Whole files (state.json, lock.json, abort) are written like tailscale's
// atomicfile: a temp file in the same directory, fsync, rename, fsync of the
// directory, so a reader sees the old content or the new, never a mix.
//
// # Lock
//
// Store.Lock takes an exclusive flock on <env>/lock and then records the
// holder in lock.json. The kernel drops a flock when its process dies, so a
// crashed rollout never blocks the next one; only its lock.json stays behind,
// and the next Lock reports it as Lock.Stale ("previous rollout by X died").
// Store.Holder tells whether the recorded holder still holds the flock (for
// status), and Store.ForceRelease clears a dead holder's lock.json but
// refuses while a live process holds the lock. The flock file descriptor is
// close-on-exec, so child processes (ssh, hooks) never inherit the lock.
// flock needs a local filesystem; the state directory must not be on NFS.
//
// # Abort
//
// "deployctl abort" writes <env>/abort (Store.RequestAbort). A running
// rollout watches for it (Store.WatchAbort) and cancels its work at the next
// step boundary. The protocol: a rollout clears any old request right after
// it takes the lock and again before it releases it (Store.ClearAbort). When
// no live process holds the lock, abort takes the lock itself and restores
// last good.
//
// # Other stores
//
// deploy consumes a store through its own interface, deploy.StateStore,
// which *Store implements (Lock, Holder, Load, Save, Append, History,
// LogFile, LogPath, RequestAbort, AbortRequested, ClearAbort, WatchAbort).
// A store shared by several deploy hosts (etcd) implements the same set
// over the same types; NewLock builds the *Lock it returns from its own
// release function.
package state
