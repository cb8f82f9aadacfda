package pool

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in            string
		network, addr string
		bad           bool
	}{
		{in: "tcp://127.0.0.1:19999", network: "tcp", addr: "127.0.0.1:19999"},
		{in: "tcp://[::1]:19999", network: "tcp", addr: "[::1]:19999"},
		{in: "unix:///run/haproxy/admin.sock", network: "unix", addr: "/run/haproxy/admin.sock"},
		{in: "tcp://127.0.0.1", bad: true},
		{in: "127.0.0.1:19999", bad: true},
		{in: "unix://", bad: true},
		{in: "http://127.0.0.1:1", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := NewRuntime(tt.in, 0)
			if tt.bad {
				if err == nil {
					t.Fatalf("NewRuntime(%q): no error", tt.in)
				}
				return
			}
			if err != nil || r.network != tt.network || r.addr != tt.addr || r.timeout != DefaultHAProxyTimeout {
				t.Fatalf("NewRuntime(%q) = %+v, %v", tt.in, r, err)
			}
			if r.String() != tt.in {
				t.Errorf("String() = %q, want %q", r.String(), tt.in)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"exampleapp", "h1", "web-01.eqiad.wmnet", "be_1:x"} {
		if err := checkName(ok); err != nil {
			t.Errorf("checkName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a;b", "a\nb", "a/b", "ü"} {
		if err := checkName(bad); err == nil {
			t.Errorf("checkName(%q): no error", bad)
		}
	}
}

func TestAnswerErr(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		ok      bool
		unknown bool
	}{
		{name: "empty is success", out: "\n", ok: true},
		{name: "no such server", out: "No such server.\n\n", unknown: true},
		{name: "no such backend", out: "No such backend.\n\n", unknown: true},
		{name: "permission", out: "Permission denied\n\n"},
		{name: "bad state", out: "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := answerErr("set server b/s state x", tt.out)
			if (err == nil) != tt.ok || errors.Is(err, ErrUnknownServer) != tt.unknown {
				t.Errorf("answerErr(%q) = %v", tt.out, err)
			}
		})
	}
}

// fakeAPI serves one connection per command like HAProxy's runtime API:
// answer(cmd) is written back, then the connection is closed. With answer
// nil it reads the command and never answers.
func fakeAPI(t *testing.T, network string, answer func(cmd string) string) *Runtime {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				cmd, _ := bufio.NewReader(c).ReadString('\n')
				if answer == nil {
					<-done
					return
				}
				c.Write([]byte(answer(cmd[:len(cmd)-1])))
			}()
		}
	}()
	scheme := "tcp://"
	if network == "unix" {
		scheme = "unix://"
	}
	r, err := NewRuntime(scheme+l.Addr().String(), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRuntimeCommand(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			r := fakeAPI(t, network, func(cmd string) string { return "you said " + cmd + "\n" })
			out, err := r.Command(context.Background(), "show info")
			if err != nil || out != "you said show info\n" {
				t.Fatalf("Command = %q, %v", out, err)
			}
		})
	}
}

func TestRuntimeCommandRefusesInjection(t *testing.T) {
	r := fakeAPI(t, "tcp", func(cmd string) string { return "" })
	for _, cmd := range []string{"show info\nshutdown sessions", "show info; shutdown frontend fe"} {
		if _, err := r.Command(context.Background(), cmd); err == nil {
			t.Errorf("Command(%q): no error", cmd)
		}
	}
}

func TestRuntimeCommandBounded(t *testing.T) {
	r := fakeAPI(t, "tcp", nil)
	t.Run("timeout", func(t *testing.T) {
		_, err := r.Command(context.Background(), "show stat")
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("a silent HAProxy: %v, want ErrUnreachable", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := r.Command(ctx, "show stat")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
			t.Errorf("cancelled: %v, want context.Canceled", err)
		}
	})
}

func TestRuntimeServer(t *testing.T) {
	r := fakeAPI(t, "tcp", func(cmd string) string {
		switch cmd {
		case "show stat exampleapp 4 -1":
			return showStat26
		case "show servers state exampleapp":
			return serversState26
		}
		return "Unknown command.\n"
	})
	tests := []struct {
		server string
		want   ServerStatus
	}{
		{"h1", ServerStatus{Backend: "exampleapp", Server: "h1", Status: "UP", Sessions: 3, Weight: 10}},
		{"h2", ServerStatus{Backend: "exampleapp", Server: "h2", Status: "MAINT", Weight: 20, Admin: admForcedMaint}},
		{"h3", ServerStatus{Backend: "exampleapp", Server: "h3", Status: "no check", Weight: 7, Admin: admForcedDrain}},
	}
	for _, tt := range tests {
		got, err := r.Server(context.Background(), "exampleapp", tt.server)
		if err != nil || got != tt.want {
			t.Errorf("Server(%s) = %+v, %v; want %+v", tt.server, got, err, tt.want)
		}
	}
	if _, err := r.Server(context.Background(), "exampleapp", "h9"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Server(h9): %v, want ErrUnknownServer", err)
	}
	if _, err := r.Server(context.Background(), "exampleapp", "h1 h2"); err == nil {
		t.Error("Server with a bad name: no error")
	}
}
