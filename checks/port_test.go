package checks

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPortCheck(t *testing.T) {
	listen := func(t *testing.T) int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l.Addr().(*net.TCPAddr).Port
	}
	// lateListener binds a free port only after a while, like a service
	// that takes time to start.
	lateListener := func(t *testing.T) int {
		port, _ := strconv.Atoi(strings.Split(closedPort(t), ":")[1])
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(500 * time.Millisecond)
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { l.Close() })
		}()
		t.Cleanup(func() { <-done })
		return port
	}
	closed := func(t *testing.T) int {
		port, _ := strconv.Atoi(strings.Split(closedPort(t), ":")[1])
		return port
	}
	tests := []struct {
		name    string
		from    string
		port    func(t *testing.T) int
		wantErr bool
		saw     string
	}{
		{"deploy: listening", FromDeploy, listen, false, "accepted a TCP connection"},
		{"deploy: binds late", FromDeploy, lateListener, false, "accepted a TCP connection"},
		{"deploy: never", FromDeploy, closed, true, "did not accept a TCP connection within"},
		{"host: listening", FromHost, listen, false, "listens on port"},
		{"host: binds late", FromHost, lateListener, false, "listens on port"},
		{"host: never", FromHost, closed, true, "did not listen on the host within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := tt.port(t)
			c := mustCheck(t, Spec{Name: "port", Type: KindPort, From: tt.from, PortTimeout: 2 * time.Second})
			r := c.Run(context.Background(), Target{Host: "h1", Address: "127.0.0.1", Port: port, Runner: localRunner{}}, nil)
			if (r.Err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", r.Err, tt.wantErr)
			}
			if tt.wantErr && (!errors.Is(r.Err, ErrFailed) || !errors.Is(r.Err, ErrTimeout)) {
				t.Errorf("err = %v, want ErrFailed and ErrTimeout", r.Err)
			}
			if said := r.Evidence; !strings.Contains(said, tt.saw) {
				t.Errorf("evidence %q does not say %q", said, tt.saw)
			}
		})
	}
}

func TestPortOverride(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c := mustCheck(t, Spec{Name: "admin-port", Type: KindPort, Port: port, PortTimeout: time.Second})
	// The service port is closed; the check's own port is open.
	r := c.Run(context.Background(), Target{Host: "h1", Address: "127.0.0.1", Port: 1}, nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	r = mustCheck(t, Spec{Name: "p", Type: KindPort}).Run(context.Background(), Target{Host: "h1"}, nil)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no port") {
		t.Fatalf("no port anywhere: err = %v", r.Err)
	}
}

func TestListening(t *testing.T) {
	procNet := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
`
	tests := []struct {
		port int
		want bool
	}{{8080, true}, {80, true}, {54321, false}, {8081, false}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.port), func(t *testing.T) {
			if got := listening([]byte(procNet), tt.port); got != tt.want {
				t.Errorf("listening(%d) = %v, want %v", tt.port, got, tt.want)
			}
		})
	}
}
