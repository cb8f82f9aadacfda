package sshdtest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a server, so that a test can cut
// them (DropAll) or silence them (Freeze) the way a network failure would.
type Proxy struct {
	IP   string
	Port int

	l      net.Listener
	target string

	mu       sync.Mutex
	conns    map[net.Conn]net.Conn // client side -> server side
	frozen   bool
	accepted int
}

// NewProxy listens on ip and a free port and forwards to target (ip:port)
// until t ends.
func NewProxy(t testing.TB, ip, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{IP: ip, Port: l.Addr().(*net.TCPAddr).Port, l: l, target: target, conns: map[net.Conn]net.Conn{}}
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.DropAll()
	})
	return p
}

// Addr is the proxy's ip:port.
func (p *Proxy) Addr() string { return net.JoinHostPort(p.IP, strconv.Itoa(p.Port)) }

// Accepted counts the connections accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// DropAll closes every open connection on both sides, like a reset.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		c.Close()
		s.Close()
		delete(p.conns, c)
	}
}

// Freeze makes the proxy hold every connection open but forward nothing,
// like a host that stopped answering without a reset; new connections are
// accepted and frozen too.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *Proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = s
		p.accepted++
		p.mu.Unlock()
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// pipe copies src to dst until either ends, holding the data while frozen.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		frozen := p.frozen
		p.mu.Unlock()
		if frozen {
			// Swallow everything: the peer sees silence, not an error.
			_, _ = io.Copy(io.Discard, src)
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}
