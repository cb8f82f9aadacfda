package sshx_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// runner is the Runner that deploy and checks declare, plus Stream, Host
// and Close; *Client and *Local must satisfy it exactly.
type runner interface {
	Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error)
	Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error
	Host() string
	Close() error
}

var (
	_ runner = (*sshx.Client)(nil)
	_ runner = (*sshx.Local)(nil)
)

// fleetConfig is a Config for f that ignores the caller's ssh-agent and
// ~/.ssh entirely.
func fleetConfig(t *testing.T, f *sshdtest.Fleet) sshx.Config {
	t.Setenv("SSH_AUTH_SOCK", "")
	return sshx.Config{
		IdentityFiles:  sshx.Paths{f.Key.File},
		KnownHosts:     sshx.Paths{f.KnownHosts},
		ConfigFile:     sshx.ConfigFileNone,
		ConnectTimeout: 5 * time.Second,
		CommandTimeout: 30 * time.Second,
	}
}

func target(s *sshdtest.Server) sshx.Target {
	return sshx.Target{Name: s.Name, Address: s.IP, Port: s.Port}
}

func dial(t *testing.T, cfg sshx.Config, tg sshx.Target) *sshx.Client {
	t.Helper()
	c, err := sshx.Dial(context.Background(), cfg, tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientRun(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	c := dial(t, fleetConfig(t, f), target(f.Servers[0]))
	ctx := context.Background()

	payload := make([]byte, 1<<20)
	rand.Read(payload)
	tests := []struct {
		name    string
		stdin   []byte
		argv    []string
		want    string
		wantErr func(*testing.T, error)
	}{
		{name: "stdout", argv: []string{"echo", "hello world"}, want: "hello world\n"},
		{name: "argv with shell syntax arrives intact", argv: []string{"printf", "%s|", "a b", "it's", "$(id)", "`id`", "a\nb", ""},
			want: "a b|it's|$(id)|`id`|a\nb||"},
		{name: "stdin", stdin: payload, argv: []string{"sha256sum"}, want: sha256sum(t, payload)},
		{name: "exit status and stderr tail", argv: []string{"sh", "-c", "echo partial; echo oops >&2; exit 3"}, want: "partial\n",
			wantErr: func(t *testing.T, err error) {
				var xe *sshx.ExitError
				// The stderr tail is the command's own: the PID line the
				// remote shell reports is taken out.
				if !errors.As(err, &xe) || xe.Code != 3 || string(xe.Stderr) != "oops\n" || xe.Host != "h1" {
					t.Fatalf("err = %#v, want ExitError code 3 with stderr \"oops\\n\" from h1", err)
				}
				if !strings.Contains(err.Error(), "h1") || !strings.Contains(err.Error(), "exit status 3") {
					t.Fatalf("message %q does not name host and status", err)
				}
			}},
		{name: "killed by signal", argv: []string{"sh", "-c", "kill -TERM $$"},
			wantErr: func(t *testing.T, err error) {
				var xe *sshx.ExitError
				if !errors.As(err, &xe) || xe.Signal != "TERM" || xe.Code != -1 {
					t.Fatalf("err = %#v, want ExitError signal TERM", err)
				}
			}},
		{name: "NUL refused before sending", argv: []string{"echo", "a\x00b"},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, sshx.ErrNUL) {
					t.Fatalf("err = %v, want ErrNUL", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdin *bytes.Reader
			if tt.stdin != nil {
				stdin = bytes.NewReader(tt.stdin)
			}
			var out []byte
			var err error
			if stdin != nil {
				out, err = c.Run(ctx, stdin, tt.argv...)
			} else {
				out, err = c.Run(ctx, nil, tt.argv...)
			}
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("stdout = %q, want %q", out, tt.want)
			}
		})
	}
	if st := c.Stats(); st.Dials != 1 || st.Sessions < int64(len(tests))-1 {
		t.Fatalf("stats %+v: want one dial reused by every command", st)
	}
}

func TestClientStdinReadError(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	c := dial(t, fleetConfig(t, f), target(f.Servers[0]))
	boom := errors.New("archive failed")
	in := &failingReader{data: []byte("some bytes"), err: boom}
	start := time.Now()
	_, err := c.Run(context.Background(), in, "cat")
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the stdin error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s: the remote cat should have been stopped", d)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestClientMaxOutput(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	cfg := fleetConfig(t, f)
	cfg.MaxOutput = 1000
	c := dial(t, cfg, target(f.Servers[0]))
	out, err := c.Run(context.Background(), nil, "head", "-c", "500000", "/dev/zero")
	if !errors.Is(err, sshx.ErrOutputTooLarge) || len(out) != 1000 {
		t.Fatalf("len %d, err %v: want the first 1000 bytes and ErrOutputTooLarge", len(out), err)
	}
	var buf bytes.Buffer
	if err := c.Stream(context.Background(), nil, &buf, "head", "-c", "500000", "/dev/zero"); err != nil || buf.Len() != 500000 {
		t.Fatalf("Stream: %d bytes, %v; want all 500000 bytes", buf.Len(), err)
	}
}

func TestClientCancelStopsRemoteProcess(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	cfg := fleetConfig(t, f)
	cfg.CommandTimeout = 500 * time.Millisecond
	c := dial(t, cfg, target(f.Servers[0]))
	testCancel(t, c)
	// The connection survives cancelled commands.
	if out, err := c.Run(context.Background(), nil, "echo", "still here"); err != nil || string(out) != "still here\n" {
		t.Fatalf("after cancel: %q, %v", out, err)
	}
	if st := c.Stats(); st.Dials != 1 {
		t.Fatalf("dials = %d, want 1", st.Dials)
	}
}

// testCancel checks that r, whose command timeout is 500ms, stops the
// whole process group of a command when its context ends or the timeout
// passes, escalating to SIGKILL when SIGTERM is ignored.
func testCancel(t *testing.T, r runner) {
	cancelled := func() (context.Context, context.CancelFunc) {
		return context.WithTimeoutCause(context.Background(), 300*time.Millisecond, context.Canceled)
	}
	s1, s2, s3, s4, s5 := uniqueSleep(t), uniqueSleep(t), uniqueSleep(t), uniqueSleep(t), uniqueSleep(t)
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		argv []string
		gone []string // command lines that must not survive
		want error
	}{
		{"context cancelled", cancelled, []string{"sleep", s1}, []string{"sleep " + s1}, context.Canceled},
		{"command timeout", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, []string{"sleep", s2}, []string{"sleep " + s2}, sshx.ErrCommandTimeout},
		{"children stopped too", cancelled, []string{"sh", "-c", "sleep " + s3 + " & sleep " + s4 + "; wait"},
			[]string{"sleep " + s3, "sleep " + s4}, context.Canceled},
		{"TERM ignored: KILL follows", cancelled, []string{"sh", "-c", "trap '' TERM; sleep " + s5 + " & wait"},
			[]string{"sleep " + s5}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := r.Run(ctx, nil, tt.argv...)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), r.Host()) {
				t.Fatalf("err = %v, want %v naming %s", err, tt.want, r.Host())
			}
			for _, g := range tt.gone {
				waitGone(t, g)
			}
		})
	}
}

// waitGone waits (bounded) until no process has cmdline exactly like cmd.
func waitGone(t *testing.T, cmd string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := processes(cmd)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %q still running as %v", cmd, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func processes(cmd string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		if strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ") == cmd {
			pids = append(pids, filepath.Base(filepath.Dir(d)))
		}
	}
	return pids
}

func TestHostKeyVerification(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	s := f.Servers[0]
	serverKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	serverFP := ssh.FingerprintSHA256(serverKey)
	other := sshdtest.NewKey(t, t.TempDir(), "other", "")
	otherKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(other.PublicKey))
	otherLine := fmt.Sprintf("[%s]:%d %s", s.IP, s.Port, other.PublicKey)

	tests := []struct {
		name      string
		known     string // known_hosts content; "-" for no file at all
		acceptNew bool
		want      error
		inMessage []string
	}{
		{"unknown key refused", "", false, sshx.ErrUnknownHostKey, []string{"h1", s.Addr(), serverFP}},
		{"no known_hosts file at all", "-", false, sshx.ErrUnknownHostKey, []string{"h1", serverFP}},
		{"changed key refused", otherLine + "\n", false, sshx.ErrHostKeyChanged, []string{"h1", serverFP, ssh.FingerprintSHA256(otherKey)}},
		{"changed key refused even with accept_new", otherLine + "\n", true, sshx.ErrHostKeyChanged, []string{"h1", serverFP}},
		{"revoked key refused", "@revoked * " + s.HostKey.PublicKey + "\n" + s.KnownHostsLine() + "\n", false, sshx.ErrHostKeyRevoked, []string{"h1", serverFP}},
		{"known key accepted", s.KnownHostsLine() + "\n", false, nil, nil},
		{"unknown key accepted with accept_new", "", true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fleetConfig(t, f)
			cfg.KnownHosts = sshx.Paths{filepath.Join(t.TempDir(), "known_hosts")}
			if tt.known != "-" {
				if err := os.WriteFile(cfg.KnownHosts[0], []byte(tt.known), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg.AcceptNew = tt.acceptNew
			c, err := sshx.Dial(context.Background(), cfg, target(s))
			if c != nil {
				defer c.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, m := range tt.inMessage {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not name %q", err, m)
				}
			}
			var hk *sshx.HostKeyError
			if tt.want != nil && (!errors.As(err, &hk) || hk.Fingerprint != serverFP || hk.Host != "h1") {
				t.Errorf("err = %#v, want a HostKeyError for h1 with %s", err, serverFP)
			}
			if tt.acceptNew && tt.want == nil {
				// The key is on record now: a dial without accept_new works.
				cfg.AcceptNew = false
				c2 := dial(t, cfg, target(s))
				c2.Close()
				b, _ := os.ReadFile(cfg.KnownHosts[0])
				if strings.Count(string(b), "\n") != 1 {
					t.Fatalf("known_hosts after accept-new:\n%s", b)
				}
			}
		})
	}
}

func TestAuthRefused(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	cfg := fleetConfig(t, f)
	stranger := sshdtest.NewKey(t, t.TempDir(), "stranger", "")
	cfg.IdentityFiles = sshx.Paths{stranger.File}
	_, err := sshx.Dial(context.Background(), cfg, target(f.Servers[0]))
	if err == nil || !strings.Contains(err.Error(), "authentication refused") || !strings.Contains(err.Error(), stranger.File) {
		t.Fatalf("err = %v, want authentication refused naming %s", err, stranger.File)
	}
}

func TestDialNoAnswerFailsWithinBound(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	// A listener that accepts and never says a word: TCP connects, the
	// SSH handshake never completes.
	l, err := net.Listen("tcp", "127.0.1.9:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return // the test closed the listener
			}
			held = append(held, c)
		}
	}()
	cfg := fleetConfig(t, f)
	cfg.ConnectTimeout = 300 * time.Millisecond
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = sshx.Dial(context.Background(), cfg, sshx.Target{Name: "silent", Address: "127.0.1.9", Port: port})
	elapsed := time.Since(start)
	if !errors.Is(err, sshx.ErrConnectTimeout) || !strings.Contains(err.Error(), "silent") {
		t.Fatalf("err = %v, want ErrConnectTimeout naming the host", err)
	}
	// The bound is the configured 300ms; allow slack for a loaded machine,
	// far below the 10s default that would show it was ignored.
	if elapsed > 3*time.Second {
		t.Fatalf("gave up after %s, configured bound 300ms", elapsed)
	}

	// The caller's context bounds the dial as well.
	cfg.ConnectTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := sshx.Dial(ctx, cfg, sshx.Target{Name: "silent", Address: "127.0.1.9", Port: port}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestEncryptedKey(t *testing.T) {
	sshdtest.Require(t)
	dir := t.TempDir()
	key := sshdtest.NewKey(t, dir, "id_encrypted", "correct horse")
	s := sshdtest.Start(t, "h1", "127.0.1.1", sshdtest.Options{AuthorizedKeys: []string{key.PublicKey}})
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sshx.Config{IdentityFiles: sshx.Paths{key.File}, KnownHosts: sshx.Paths{known}, ConfigFile: sshx.ConfigFileNone}

	t.Run("no agent: clear error", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		_, err := sshx.Dial(context.Background(), cfg, target(s))
		if !errors.Is(err, sshx.ErrEncryptedKey) || !strings.Contains(err.Error(), key.File) || !strings.Contains(err.Error(), "ssh-add") {
			t.Fatalf("err = %v, want ErrEncryptedKey naming %s and ssh-add", err, key.File)
		}
	})
	t.Run("agent holding the key", func(t *testing.T) {
		sock := startAgent(t, key.File, "correct horse")
		t.Setenv("SSH_AUTH_SOCK", sock)
		c := dial(t, cfg, target(s))
		if out, err := c.Run(context.Background(), nil, "echo", "ok"); err != nil || string(out) != "ok\n" {
			t.Fatalf("%q, %v", out, err)
		}
	})
}

func TestProxyJump(t *testing.T) {
	// DEBUG1 makes the bastion log the channels it forwards.
	f := sshdtest.StartFleetWith(t, 2, sshdtest.Options{LogLevel: "DEBUG1"})
	jump, web := f.Servers[0], f.Servers[1]
	confFile := filepath.Join(t.TempDir(), "ssh_config")
	conf := fmt.Sprintf(`Host web
  HostName %s
  Port %d
  ProxyJump bastion
  IdentityFile %s

Host bastion
  HostName %s
  Port %d
  User root
  IdentityFile %s
`, web.IP, web.Port, f.Key.File, jump.IP, jump.Port, f.Key.File)
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fleetConfig(t, f)
	cfg.IdentityFiles = nil // from ssh_config only
	cfg.ConfigFile = confFile

	c := dial(t, cfg, sshx.Target{Name: "web"}) // address, port and key all from ssh_config
	out, err := c.Run(context.Background(), nil, "sh", "-c", `echo "$SSH_CONNECTION"`)
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(string(out)); len(fields) != 4 || fields[2] != web.IP || fields[3] != fmt.Sprint(web.Port) {
		t.Fatalf("SSH_CONNECTION = %q, want a session on %s", out, web.Addr())
	}
	// The bastion forwarded the connection: its log shows the direct-tcpip
	// channel to web.
	want := fmt.Sprintf("server_request_direct_tcpip: originator 0.0.0.0 port 0, target %s port %d", web.IP, web.Port)
	if log := jump.LogText(); !strings.Contains(log, want) {
		t.Fatalf("bastion log shows no forwarding to %s:\n%s", web.Addr(), log)
	}

	// Without the bastion, web cannot be reached, and the error says why.
	jump.Stop()
	_, err = sshx.Dial(context.Background(), cfg, sshx.Target{Name: "web"})
	if err == nil || !strings.Contains(err.Error(), "jump host bastion") {
		t.Fatalf("dial with the bastion down: %v, want an error naming jump host bastion", err)
	}
}

func TestRedialAfterDrop(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	s := f.Servers[0]
	proxy := sshdtest.NewProxy(t, "127.0.1.1", s.Addr())
	cfg := fleetConfig(t, f)
	// known_hosts records the server under the proxy's address.
	known := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s", proxy.IP, proxy.Port, s.HostKey.PublicKey)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHosts = sshx.Paths{known}
	c := dial(t, cfg, sshx.Target{Name: "h1", Address: proxy.IP, Port: proxy.Port})
	ctx := context.Background()

	if _, err := c.Run(ctx, nil, "true"); err != nil {
		t.Fatal(err)
	}
	// A running command when the connection drops: its effect is unknown,
	// so it fails with ErrConnLost rather than being retried.
	sleep := uniqueSleep(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, nil, "sleep", sleep)
		errc <- err
	}()
	waitRunning(t, "sleep "+sleep)
	proxy.DropAll()
	if err := <-errc; !errors.Is(err, sshx.ErrConnLost) {
		t.Fatalf("command across the drop: %v, want ErrConnLost", err)
	}

	// The next command re-dials once and succeeds.
	if out, err := c.Run(ctx, nil, "echo", "back"); err != nil || string(out) != "back\n" {
		t.Fatalf("after drop: %q, %v", out, err)
	}
	if st := c.Stats(); st.Dials != 2 {
		t.Fatalf("dials = %d, want 2", st.Dials)
	}

	// When the host is gone for good, the re-dial fails and is reported.
	s.Stop()
	proxy.DropAll()
	_, err := c.Run(ctx, nil, "true")
	if !errors.Is(err, sshx.ErrConnLost) || !strings.Contains(err.Error(), "re-dial") {
		t.Fatalf("err = %v, want ErrConnLost after a failed re-dial", err)
	}
	if st := c.Stats(); st.Dials != 2 {
		t.Fatalf("dials = %d, want 2 (a failed dial does not count)", st.Dials)
	}
}

func TestKeepaliveDropsSilentHost(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	s := f.Servers[0]
	proxy := sshdtest.NewProxy(t, "127.0.1.1", s.Addr())
	cfg := fleetConfig(t, f)
	known := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s", proxy.IP, proxy.Port, s.HostKey.PublicKey)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHosts = sshx.Paths{known}
	cfg.Keepalive = 100 * time.Millisecond
	cfg.CommandTimeout = time.Minute
	c := dial(t, cfg, sshx.Target{Name: "h1", Address: proxy.IP, Port: proxy.Port})

	sleep := uniqueSleep(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), nil, "sleep", sleep)
		errc <- err
	}()
	waitRunning(t, "sleep "+sleep)
	proxy.Freeze()
	select {
	case err := <-errc:
		if !errors.Is(err, sshx.ErrConnLost) {
			t.Fatalf("err = %v, want ErrConnLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a silent host was not noticed by keepalive (the command would wait for its 1m timeout)")
	}
}

var sleepSeq atomic.Int64

// uniqueSleep returns a sleep duration (about 30s) no other process uses,
// so a test can find its own remote sleep by its command line. A sleep
// left behind (a dropped connection does not stop a remote command) is
// killed by PID when the test ends.
func uniqueSleep(t *testing.T) string {
	arg := fmt.Sprintf("30.%d%06d", os.Getpid(), sleepSeq.Add(1))
	t.Cleanup(func() {
		for _, pid := range processes("sleep " + arg) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
	})
	return arg
}

func waitRunning(t *testing.T, cmd string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(processes(cmd)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%q never started", cmd)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sha256sum(t *testing.T, b []byte) string {
	t.Helper()
	out, err := (&sshx.Local{}).Run(context.Background(), bytes.NewReader(b), "sha256sum")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// startAgent runs an ssh-agent for the test, stopped by PID at the end,
// holding the key in file (decrypted with passphrase), and returns its
// socket.
func startAgent(t *testing.T, file, passphrase string) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-agent missing")
		}
		t.Skip("ssh-agent missing")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	var conn net.Conn
	for {
		var err error
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-agent not listening: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKeyWithPassphrase(pem, []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.NewClient(conn).Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	return sock
}
