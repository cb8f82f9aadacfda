// Package sshx runs commands on remote hosts over SSH, the way a rolling
// deploy needs it: host keys verified against known_hosts (never switched
// off), authentication through ssh-agent and identity files, ~/.ssh/config
// honoured for HostName, User, Port, IdentityFile and ProxyJump, and one
// connection per host that every step of a rollout reuses.
//
// A remote command is always an argv. [Quote] is the one function that joins
// it for the remote user's login shell, which must be a POSIX shell (sh,
// dash, bash, zsh; not csh or fish). [Script] builds the argv for shell
// code: sh -c with a constant script and every value as a positional
// argument. Every command is bounded by Config.CommandTimeout; cancelling
// its context sends SIGTERM to the remote process, then SIGKILL after a
// short grace, and closes the session. The remote shell runs the argv as a
// single simple command, so the signal reaches the argv's own process;
// grandchildren that it started are not signalled (the same contract as
// os/exec).
//
// A command without stdin ([Client.Run] with a nil stdin, the common
// case: a check, a symlink switch, a restart) runs on one of up to four
// long-lived "command shells" per Client (sh -s reading one command line
// after another) instead of a session of its own, which saves sshd's fork
// of the login shell: less than half the time per command. Its output,
// exit status, stderr tail, timeout and cancellation are the same as in a
// session of its own, with two differences a shell cannot avoid: a status
// above 128 that names a signal is reported as death by that signal (a
// shell reports both as 128+N), and a command must not leave a background
// process writing to its stdout or stderr (Run returns when the command
// ends, not when its output is closed). When every shell is busy, the
// command gets a session of its own. A shell is discarded after any
// command it did not see end cleanly (cancelled, timed out, connection
// lost).
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
