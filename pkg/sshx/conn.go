package sshx

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// keepaliveMaxMissed keepalives unanswered in a row drop the connection
// (OpenSSH's ServerAliveCountMax).
const keepaliveMaxMissed = 3

// conn is one established SSH connection, and the jump connection it runs
// through, if any.
type conn struct {
	name      string
	client    *ssh.Client
	via       *conn         // jump host connection carrying this one; nil when direct
	done      chan struct{} // closed once the connection has ended
	closed    atomic.Bool   // set at once by close, before done follows
	closeOnce sync.Once
}

func newConn(name string, client *ssh.Client, via *conn, keepalive time.Duration) *conn {
	c := &conn{name: name, client: client, via: via, done: make(chan struct{})}
	go func() {
		_ = client.Wait()
		close(c.done)
	}()
	go c.keepalive(keepalive)
	return c
}

func (c *conn) alive() bool {
	if c.closed.Load() {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close ends this connection and the jump connections under it.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.client.Close()
		if c.via != nil {
			c.via.close()
		}
	})
}

// keepalive asks the server for a reply every interval and drops the
// connection after keepaliveMaxMissed unanswered requests, so a host that
// vanished without a TCP reset is noticed without waiting for a command
// to time out. At most one request is outstanding at a time.
func (c *conn) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.done:
			return
		case err := <-replies:
			pending = false
			if err != nil {
				c.close()
				return
			}
			missed = 0
		case <-t.C:
			if pending {
				missed++
				if missed >= keepaliveMaxMissed {
					slog.Warn("ssh keepalive unanswered, dropping connection", "host", c.name, "missed", missed)
					c.close()
					return
				}
				continue
			}
			pending = true
			go func() {
				// OpenSSH answers an unknown global request with a failure,
				// which is still proof of life.
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

// Stats counts the bytes a Client moved over the SSH transport to its
// host (encrypted, all dials together; jump hops not included), how often
// it connected (handshakes completed), the commands it started (Sessions:
// each in a session of its own or on a command shell) and the command
// shells it opened.
type Stats struct {
	BytesSent     int64
	BytesReceived int64
	Dials         int64
	Sessions      int64
	Shells        int64
}

type counters struct {
	sent, recv, dials, sessions, shells atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{BytesSent: c.sent.Load(), BytesReceived: c.recv.Load(), Dials: c.dials.Load(), Sessions: c.sessions.Load(), Shells: c.shells.Load()}
}

// countingConn counts the bytes through a net.Conn.
type countingConn struct {
	net.Conn
	c *counters
}

func (cc countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.recv.Add(int64(n))
	return n, err
}

func (cc countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.sent.Add(int64(n))
	return n, err
}
