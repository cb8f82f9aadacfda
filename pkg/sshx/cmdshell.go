package sshx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxShells bounds the command shells one Client keeps open. Each holds
// one of the maxCommands session slots while it lives.
const maxShells = 4

// shellCommand starts a command shell: a POSIX sh reading command lines
// from its stdin, with the PID that sshd made a session (and process
// group) leader.
const shellCommand = "exec sh -s"

// errShellEnded: the command shell's session ended before the command's
// end markers arrived.
var errShellEnded = errors.New("command shell ended")

// A command shell runs short commands (Run without stdin) one after the
// other in one long-lived session, instead of one session each: opening a
// session makes sshd fork the login shell, which costs more than the
// command itself.
//
// Each command goes to the shell as one line:
//
//	( exec <quoted argv> ) </dev/null 2>&3 3>&-; printf '\n%s %d\n' NONCE "$?"; printf '\n%s\n' NONCE >&3
//
// The subshell keeps a failed exec (and anything else) from ending the
// shell, the exec makes argv[0] a program, as in a session of its own
// (remoteLine), so that both paths run the same commands, /dev/null keeps
// the command from reading the shell's command stream, and the markers,
// with a nonce fresh for every command, end its stdout (with the exit
// status) and its stderr exactly, even after output without a final
// newline. The shell itself writes its messages (such as "Terminated")
// to /dev/null; fd 3 is the session's stderr.
//
// The shell's status for a command killed by a signal is 128+N, which a
// shell cannot tell from an exit with that status: a status above 128
// that names a signal is reported as that signal.
//
// Cancelling a command signals the shell's whole process group, which
// holds the command, from a second session, as for a command in a session
// of its own; the shell is not reused after that, nor after any command
// whose end it did not see exactly.
type shell struct {
	cn    *conn
	s     *ssh.Session
	stdin io.WriteCloser
	out   *bufio.Reader
	errs  *bufio.Reader
	pid   int64
	done  chan error // closed when the session has ended
}

// shellSet is a Client's command shells: the idle ones, and how many are
// open in all.
type shellSet struct {
	mu   sync.Mutex
	idle []*shell
	open int
}

// take returns an idle shell, or nil and whether the caller may open a
// new one (counted as open already).
func (ss *shellSet) take() (*shell, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if n := len(ss.idle); n > 0 {
		sh := ss.idle[n-1]
		ss.idle = ss.idle[:n-1]
		return sh, false
	}
	if ss.open < maxShells {
		ss.open++
		return nil, true
	}
	return nil, false
}

func (ss *shellSet) put(sh *shell) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.idle = append(ss.idle, sh)
}

// closed forgets one open shell.
func (ss *shellSet) closed() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.open--
}

// alive reports whether the shell and its connection are still up.
func (sh *shell) alive() bool {
	if !sh.cn.alive() {
		return false
	}
	select {
	case <-sh.done:
		return false
	default:
		return true
	}
}

// runOnShell runs argv on a command shell into w. ok is false when every
// shell is busy and no session slot is free for another: the caller runs
// the command in a session of its own instead.
func (c *Client) runOnShell(ctx context.Context, w io.Writer, argv []string) (ok bool, err error) {
	q, err := Quote(argv...)
	if err != nil {
		return true, c.fail(argv, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.d.cfg.CommandTimeout, ErrCommandTimeout)
	defer cancel()
	nonce, err := newNonce()
	if err != nil {
		return true, c.fail(argv, err)
	}
	line := "( exec " + q + " ) </dev/null 2>&3 3>&-; printf '\\n%s %d\\n' " + nonce + ` "$?"; printf '\n%s\n' ` + nonce + " >&3\n"

	// A shell found dead, or one that took no command (its connection
	// dropped before the line was sent), is replaced: the command has not
	// started. Bounded: every open shell, then one fresh one.
	var sh *shell
	for attempt := 0; ; attempt++ {
		sh, ok, err = c.takeShell(ctx)
		if !ok {
			return false, nil
		}
		if err != nil {
			return true, c.fail(argv, err)
		}
		if _, werr := io.WriteString(sh.stdin, line); werr == nil {
			break
		} else if attempt > maxShells {
			c.dropShell(sh)
			return true, c.fail(argv, fmt.Errorf("%w: send command: %w", ErrConnLost, werr))
		}
		c.dropShell(sh)
	}
	c.count.sessions.Add(1)

	tail := newTail(StderrTail)
	type read struct {
		rest []byte
		err  error
	}
	outc, errc := make(chan read, 1), make(chan read, 1)
	go func() {
		rest, err := copyUntil(sh.out, w, []byte(nonce+" "))
		outc <- read{rest, err}
	}()
	go func() {
		rest, err := copyUntil(sh.errs, tail, []byte(nonce+"\n"))
		errc <- read{rest, err}
	}()

	var out, stderr read
	for gotOut, gotErr := false, false; !gotOut || !gotErr; {
		select {
		case out = <-outc:
			gotOut, outc = true, nil
		case stderr = <-errc:
			gotErr, errc = true, nil
		case <-ctx.Done():
			// stop ends the session (or the connection), so both
			// readers return and stop writing to w before Run does.
			stop(sh.s, sh.cn, closedChan, func() int64 { return sh.pid }, sh.done)
			if !gotOut {
				<-outc
			}
			if !gotErr {
				<-errc
			}
			c.dropShell(sh)
			return true, c.fail(argv, context.Cause(ctx))
		}
	}
	if out.err != nil || stderr.err != nil {
		c.dropShell(sh)
		return true, c.lost(argv, sh.cn, errors.Join(out.err, stderr.err))
	}
	code, perr := strconv.Atoi(string(bytes.TrimSuffix(out.rest, []byte("\n"))))
	if perr != nil || sh.out.Buffered() > 0 || sh.errs.Buffered() > 0 {
		// Output after the markers (a background process the command
		// left writing) would be taken for the next command's.
		c.dropShell(sh)
	} else {
		c.shells.put(sh)
	}
	if perr != nil {
		return true, c.fail(argv, fmt.Errorf("command shell: bad status %q", out.rest))
	}
	if code == 0 {
		return true, nil
	}
	xe := &ExitError{Host: c.Host(), Argv: argv, Code: code, Stderr: tail.Bytes()}
	if sig := shellSignal(code); sig != "" {
		xe.Code, xe.Signal = -1, sig
	}
	return true, xe
}

// takeShell returns a live idle shell or a new one; ok is false when
// there is none to be had without waiting.
func (c *Client) takeShell(ctx context.Context) (*shell, bool, error) {
	for range maxShells + 1 {
		sh, open := c.shells.take()
		if sh != nil {
			if sh.alive() && c.probe(ctx, sh.cn) {
				return sh, true, nil
			}
			c.dropShell(sh)
			continue
		}
		if !open {
			return nil, false, nil
		}
		select {
		case c.sessions <- struct{}{}:
		default:
			c.shells.closed()
			return nil, false, nil
		}
		sh, err := c.openShell(ctx)
		if err != nil {
			<-c.sessions
			c.shells.closed()
			return nil, true, err
		}
		return sh, true, nil
	}
	return nil, false, nil
}

// probe asks the server for a reply before an idle shell takes a
// command, so that a connection that dropped while the shell sat idle is
// found out (and re-dialled) before the command is sent, not after, when
// its effect would be unknown. A connection that does not answer within
// ConnectTimeout is dropped.
func (c *Client) probe(ctx context.Context, cn *conn) bool {
	replied := make(chan error, 1)
	go func() {
		// OpenSSH answers an unknown global request with a failure,
		// which is still proof of life.
		_, _, err := cn.client.SendRequest("keepalive@openssh.com", true, nil)
		replied <- err
	}()
	t := time.NewTimer(c.d.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case err := <-replied:
		if err != nil {
			cn.close()
			return false
		}
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		cn.close()
		return false
	}
}

// dropShell closes sh and frees its slots.
func (c *Client) dropShell(sh *shell) {
	_ = sh.s.Close()
	<-c.sessions
	c.shells.closed()
}

// openShell starts a command shell and waits, within ConnectTimeout, for
// its first markers, which carry its PID; what came before them (a login
// shell's rc files, sshd's debug lines) is dropped.
func (c *Client) openShell(ctx context.Context) (*shell, error) {
	s, cn, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	sh := &shell{cn: cn, s: s, done: make(chan error)}
	fail := func(err error) (*shell, error) {
		s.Close()
		return nil, fmt.Errorf("command shell: %w", err)
	}
	if sh.stdin, err = s.StdinPipe(); err != nil {
		return fail(err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	stderr, err := s.StderrPipe()
	if err != nil {
		return fail(err)
	}
	sh.out, sh.errs = bufio.NewReaderSize(stdout, 32<<10), bufio.NewReaderSize(stderr, 32<<10)
	if err := s.Start(shellCommand); err != nil {
		return fail(err)
	}
	go func() {
		_ = s.Wait()
		close(sh.done)
	}()
	c.count.shells.Add(1)
	nonce, err := newNonce()
	if err != nil {
		return fail(err)
	}
	start := "exec 3>&2 2>/dev/null; printf '\\n%s %d\\n' " + nonce + ` "$$"; printf '\n%s\n' ` + nonce + " >&3\n"
	if _, err := io.WriteString(sh.stdin, start); err != nil {
		return fail(err)
	}
	type read struct {
		rest []byte
		err  error
	}
	outc, errc := make(chan read, 1), make(chan read, 1)
	go func() {
		rest, err := copyUntil(sh.out, io.Discard, []byte(nonce+" "))
		outc <- read{rest, err}
	}()
	go func() {
		rest, err := copyUntil(sh.errs, io.Discard, []byte(nonce+"\n"))
		errc <- read{rest, err}
	}()
	t := time.NewTimer(c.d.cfg.ConnectTimeout)
	defer t.Stop()
	var out, serr read
	select {
	case out = <-outc:
		select {
		case serr = <-errc:
		case <-t.C:
			s.Close()
			<-errc
			return nil, fmt.Errorf("command shell: no answer within %s", c.d.cfg.ConnectTimeout)
		}
	case <-t.C:
		s.Close()
		<-outc
		<-errc
		return nil, fmt.Errorf("command shell: no answer within %s", c.d.cfg.ConnectTimeout)
	case <-ctx.Done():
		s.Close()
		<-outc
		<-errc
		return nil, context.Cause(ctx)
	}
	if err := errors.Join(out.err, serr.err); err != nil {
		return fail(err)
	}
	if sh.pid, err = strconv.ParseInt(string(bytes.TrimSuffix(out.rest, []byte("\n"))), 10, 64); err != nil || sh.pid <= 1 {
		return fail(fmt.Errorf("bad PID %q", out.rest))
	}
	return sh, nil
}

// lost turns a command shell that ended mid-command into an error: the
// connection dropped (ErrConnLost) or the shell alone ended; either way
// the command's effect is unknown.
func (c *Client) lost(argv []string, cn *conn, err error) error {
	select {
	case <-cn.done:
		return c.fail(argv, fmt.Errorf("%w while the command ran (its effect is unknown)", ErrConnLost))
	case <-time.After(exitRace):
	}
	return c.fail(argv, fmt.Errorf("%w while the command ran (its effect is unknown): %w", errShellEnded, err))
}

// copyUntil copies r to w up to a line that starts with tok and follows a
// newline; that newline is the marker's, not w's. It returns the rest of
// the marker line. An EOF before the marker is io.ErrUnexpectedEOF.
func copyUntil(r *bufio.Reader, w io.Writer, tok []byte) ([]byte, error) {
	held := false // a newline that may start the marker is held back
	for {
		seg, err := r.ReadSlice('\n')
		if held {
			if err == nil && bytes.HasPrefix(seg, tok) {
				return bytes.Clone(seg[len(tok):]), nil
			}
			_, _ = w.Write([]byte{'\n'})
			held = false
		}
		switch {
		case err == nil:
			_, _ = w.Write(seg[:len(seg)-1])
			held = true
		case errors.Is(err, bufio.ErrBufferFull):
			_, _ = w.Write(seg)
		default:
			_, _ = w.Write(seg)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// newNonce returns 128 random bits in hex, prefixed so that a marker
// line reads as deployctl's.
func newNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return "deployctl-end-" + hex.EncodeToString(b), nil
}

// shellSignal names the signal a shell's status above 128 stands for, or
// returns "" when it names none.
func shellSignal(status int) string {
	n := status - 128
	if n < 1 || n > 31 {
		return ""
	}
	name := signalName(syscall.Signal(n))
	if _, err := strconv.Atoi(name); err == nil {
		return ""
	}
	return name
}

// closedChan is a channel that is always ready.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()
