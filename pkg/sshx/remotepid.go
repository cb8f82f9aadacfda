package sshx

import (
	"bytes"
	"io"
	"strconv"
	"sync/atomic"
)

// pidMarker starts the line on which the remote shell reports its PID on
// stderr, before it execs the argv.
const pidMarker = "deployctl-pid "

// pidScanLimit bounds how much leading stderr is searched for the PID line
// (a login shell's rc files may print something first).
const pidScanLimit = 4 << 10

// remoteLine is the command line sent for argv: the shell reports its PID
// (which becomes the PID of argv, and, sshd having made it a session
// leader, the ID of its process group) and execs the quoted argv.
//
// The PID lets a cancelled command be stopped with kill on the process
// group from a second session: sshd refuses the SSH "signal" request for
// root logins (it needs privilege separation), and for other users it is
// sent as well. Because of the exec, argv[0] must be a program, not a
// shell builtin such as cd; run shell syntax as "sh", "-c", script.
func remoteLine(argv []string) (string, error) {
	q, err := Quote(argv...)
	if err != nil {
		return "", err
	}
	return `echo "` + pidMarker + `$$" >&2; exec ` + q, nil
}

// pidWriter takes the PID line out of the head of stderr and passes
// everything else on.
type pidWriter struct {
	w       io.Writer
	pid     atomic.Int64
	known   chan struct{} // closed once the search for the PID is over
	head    []byte
	through bool // PID found or search given up: pass everything on
}

func newPIDWriter(w io.Writer) *pidWriter {
	return &pidWriter{w: w, known: make(chan struct{})}
}

// stopSearch passes everything on from now on.
func (p *pidWriter) stopSearch() {
	p.through = true
	close(p.known)
}

func (p *pidWriter) Write(b []byte) (int, error) {
	if p.through {
		return p.w.Write(b)
	}
	n := len(b)
	p.head = append(p.head, b...)
	for {
		i := bytes.IndexByte(p.head, '\n')
		if i < 0 {
			break
		}
		line := p.head[:i]
		if rest, ok := bytes.CutPrefix(line, []byte(pidMarker)); ok {
			if pid, err := strconv.ParseInt(string(rest), 10, 64); err == nil && pid > 1 {
				p.pid.Store(pid)
			}
			p.stopSearch()
			_, err := p.w.Write(p.head[i+1:])
			p.head = nil
			return n, err
		}
		if _, err := p.w.Write(p.head[:i+1]); err != nil {
			return n, err
		}
		p.head = p.head[i+1:]
	}
	if len(p.head) > pidScanLimit {
		p.stopSearch()
		_, err := p.w.Write(p.head)
		p.head = nil
		return n, err
	}
	return n, nil
}

// flush passes on a partial line held back at the end; it is called once
// the session's output has been copied.
func (p *pidWriter) flush() {
	if !p.through {
		p.stopSearch()
	}
	if len(p.head) > 0 {
		_, _ = p.w.Write(p.head)
		p.head = nil
	}
}
