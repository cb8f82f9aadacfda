// Package sshx runs commands on remote hosts over SSH, the way a rolling
// deploy needs it: host keys verified against known_hosts (never switched
// off), authentication through ssh-agent and identity files, ~/.ssh/config
// honoured for HostName, User, Port, IdentityFile and ProxyJump, and one
// connection per host that every step of a rollout reuses.
//
// A remote command is always an argv. [Quote] is the one function that joins
// it for the remote user's login shell, which must be a POSIX shell (sh,
// dash, bash, zsh; not csh or fish). Every command is bounded by
// Config.CommandTimeout; cancelling its context sends SIGTERM to the remote
// process, then SIGKILL after a short grace, and closes the session. The
// remote shell runs the argv as a single simple command, so the signal
// reaches the argv's own process; grandchildren that it started are not
// signalled (the same contract as os/exec).
//
// A [Client] holds one connection. When that connection drops (keepalive
// unanswered, TCP reset, jump host gone) the next command re-dials once,
// after a short backoff, and reports the failure if that dial fails too. A
// command that was running when the connection dropped is not retried: its
// error wraps [ErrConnLost] because its effect on the host is unknown.
//
// [Local] runs the same argv on this machine with the same semantics; tests
// of other packages and the "local" cases use it in place of a Client.
package sshx
