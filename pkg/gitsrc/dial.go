package gitsrc

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// DialTimeout bounds how long opening an SSH session to a git server may
// take: the TCP connect, the SSH handshake (host key checked against
// known_hosts) and authentication. go-git's SSH transport opens sessions
// without a context and the SSH handshake has no deadline of its own, so
// a server that accepts the connection and never answers would otherwise
// hang a fetch for ever. HTTP(S) sources need no such bound: every request
// they make carries the fetch's context.
var DialTimeout = 30 * time.Second

var installOnce sync.Once

// installBoundedSSH replaces go-git's SSH transport, for the ssh:// and
// scp-like URLs of this process, with one that gives up opening a session
// after DialTimeout. Everything else (agent keys, known_hosts
// verification, ssh_config host names and ports) stays go-git's default.
func installBoundedSSH() {
	installOnce.Do(func() {
		client.InstallProtocol("ssh", boundedTransport{inner: gitssh.DefaultClient})
	})
}

// boundedTransport opens sessions through inner, giving up after
// DialTimeout. A session that is still opening when the bound passes is
// left to finish on its own and closed as soon as it does: it holds one
// socket until the server answers or drops it, and it writes nothing.
type boundedTransport struct {
	inner transport.Transport
}

func (b boundedTransport) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	return bounded(ep, func() (transport.UploadPackSession, error) {
		return b.inner.NewUploadPackSession(ep, auth)
	})
}

func (b boundedTransport) NewReceivePackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.ReceivePackSession, error) {
	return bounded(ep, func() (transport.ReceivePackSession, error) {
		return b.inner.NewReceivePackSession(ep, auth)
	})
}

type closer interface{ Close() error }

// bounded runs open and returns what it returns, or an error naming the
// server once DialTimeout has passed.
func bounded[S closer](ep *transport.Endpoint, open func() (S, error)) (S, error) {
	type result struct {
		s   S
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := open()
		done <- result{s, err}
	}()
	timer := time.NewTimer(DialTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-timer.C:
		go func() {
			if r := <-done; r.err == nil {
				_ = r.s.Close()
			}
		}()
		var zero S
		return zero, fmt.Errorf("ssh to %s: no session within %s (the server accepted the connection but did not complete the SSH handshake)",
			endpointHost(ep), DialTimeout)
	}
}

// endpointHost names the server of ep for messages, without credentials.
func endpointHost(ep *transport.Endpoint) string {
	if ep.Port > 0 && ep.Port != gitssh.DefaultPort {
		return fmt.Sprintf("%s:%d", ep.Host, ep.Port)
	}
	return ep.Host
}
