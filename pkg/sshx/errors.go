package sshx

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers test for them with errors.Is.
var (
	// ErrUnknownHostKey: the host's key is in no known_hosts file.
	ErrUnknownHostKey = errors.New("unknown host key")
	// ErrHostKeyChanged: known_hosts holds a different key for the host.
	ErrHostKeyChanged = errors.New("host key changed")
	// ErrHostKeyRevoked: known_hosts marks the host's key @revoked.
	ErrHostKeyRevoked = errors.New("host key revoked")
	// ErrEncryptedKey: an identity file is passphrase-protected and no
	// ssh-agent can sign for it.
	ErrEncryptedKey = errors.New("identity file is encrypted and no ssh-agent is available")
	// ErrNoAuth: there is no key to offer at all.
	ErrNoAuth = errors.New("no ssh-agent and no identity file")
	// ErrConnectTimeout: the host did not complete TCP connect and SSH
	// handshake within Config.ConnectTimeout.
	ErrConnectTimeout = errors.New("connect timeout")
	// ErrCommandTimeout: a command ran longer than Config.CommandTimeout.
	ErrCommandTimeout = errors.New("command timeout")
	// ErrConnLost: the connection dropped; a command running on it has an
	// unknown effect, and a re-dial (if any) failed too.
	ErrConnLost = errors.New("connection lost")
	// ErrOutputTooLarge: stdout exceeded Config.MaxOutput in Run.
	ErrOutputTooLarge = errors.New("output too large")
	// ErrClosed: the client or pool was closed.
	ErrClosed = errors.New("client closed")
)

// ExitError is a remote (or local) command that ended with a non-zero
// status or was killed by a signal.
type ExitError struct {
	Host   string
	Argv   []string
	Code   int    // exit status; -1 when killed by a signal
	Signal string // signal name ("TERM") when killed by one
	Stderr []byte // the last bytes of stderr (see StderrTail)
}

// Error says which host and command failed, how, and the stderr tail.
func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: ", e.Host, shortArgv(e.Argv))
	if e.Signal != "" {
		fmt.Fprintf(&b, "killed by signal %s", e.Signal)
	} else {
		fmt.Fprintf(&b, "exit status %d", e.Code)
	}
	if s := strings.TrimSpace(string(e.Stderr)); s != "" {
		b.WriteString(": ")
		b.WriteString(s)
	}
	return b.String()
}

// shortArgv renders argv for messages: quoted, with a long or multi-line
// argument (a script for sh -c) cut to the start of its first line, so
// that a message stays one readable line.
func shortArgv(argv []string) string {
	const maxArg = 256
	short := make([]string, len(argv))
	for i, a := range argv {
		if line, _, multi := strings.Cut(a, "\n"); multi || len(a) > maxArg {
			if len(line) > 64 {
				line = line[:64]
			}
			a = line + "..."
		}
		short[i] = a
	}
	s, err := Quote(short...)
	if err != nil {
		return fmt.Sprintf("%q", argv)
	}
	return s
}
