package pool_test

// Real servers for the integration tests: etcd, HAProxy, poolsync and tiny
// HTTP apps, each started on loopback with free ports, data in t.TempDir(),
// and stopped by PID when the test ends.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/deployctl/deployctl/pkg/pool"
)

const (
	etcdBin    = "/usr/bin/etcd"
	haproxyBin = "/usr/sbin/haproxy"
	startWait  = 20 * time.Second // a server must answer within this after start
	stopWait   = 5 * time.Second  // after SIGTERM, then SIGKILL
)

// needServers skips under -short, and when bin is missing, unless CI=true:
// then a missing binary is a failure.
func needServers(t *testing.T, bins ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("real servers: not with -short")
	}
	for _, bin := range bins {
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true (make deps): %v", bin, err)
			}
			t.Skipf("%s missing (make deps installs it): %v", bin, err)
		}
	}
}

// freePort returns a port that was free on ip a moment ago.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts argv with its output in a log file and stops it by
// PID at cleanup; the log is shown when the test failed.
func startProcess(t *testing.T, name string, argv ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopWait):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("%s (pid %d) log:\n%s", name, cmd.Process.Pid, tail(out, 3000))
		}
	})
	return cmd
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// eventually polls cond until it holds or startWait passes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(startWait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, startWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// etcdServer is one etcd member on loopback.
type etcdServer struct {
	endpoint string
	cli      *clientv3.Client
}

func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	needServers(t, etcdBin)
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t, "127.0.0.1"))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t, "127.0.0.1"))
	startProcess(t, "etcd", etcdBin,
		"--name", "pooltest", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "pooltest="+peer, "--log-level", "warn")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	e := &etcdServer{endpoint: client, cli: cli}
	eventually(t, "etcd answers", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "/")
		return err
	})
	return e
}

func (e *etcdServer) put(t *testing.T, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.cli.Put(ctx, key, val); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// get returns a key's value and mod revision (0 when missing).
func (e *etcdServer) get(t *testing.T, key string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
}

// lbServer is one server line of the test HAProxy.
type lbServer struct {
	name   string
	addr   string // host:port
	weight int
	check  bool
	extra  string // more server keywords: "track be/s", "disabled"
}

// haproxyServer is one HAProxy with a frontend and one backend.
type haproxyServer struct {
	api      string // tcp://127.0.0.1:port
	sock     string // unix:///path
	frontend string // http://127.0.0.1:port
	rt       *pool.Runtime
}

func startHAProxy(t *testing.T, backend string, servers []lbServer) *haproxyServer {
	t.Helper()
	needServers(t, haproxyBin)
	// A unix socket path must be short: t.TempDir() under a long test name
	// may not be.
	sockDir, err := os.MkdirTemp("", "pooltest-hx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	apiPort, fePort := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
	h := &haproxyServer{
		api:      fmt.Sprintf("tcp://127.0.0.1:%d", apiPort),
		sock:     "unix://" + filepath.Join(sockDir, "admin.sock"),
		frontend: fmt.Sprintf("http://127.0.0.1:%d", fePort),
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 2000
  stats socket ipv4@127.0.0.1:%d level admin
  stats socket %s mode 600 level admin
defaults
  mode http
  retries 3
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout check 1s
  default-server inter 100ms fall 2 rise 1
frontend fe
  bind 127.0.0.1:%d
  default_backend %s
backend %s
  balance roundrobin
  option httpchk GET /healthz
`, apiPort, filepath.Join(sockDir, "admin.sock"), fePort, backend, backend)
	for _, s := range servers {
		check := ""
		if s.check {
			check = " check"
		}
		if s.extra != "" {
			check += " " + s.extra
		}
		fmt.Fprintf(&b, "  server %s %s weight %d%s\n", s.name, s.addr, s.weight, check)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "haproxy", haproxyBin, "-db", "-f", cfg)
	h.rt, err = pool.NewRuntime(h.api, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "haproxy runtime API answers", func() error {
		_, err := h.rt.Command(context.Background(), "show info")
		return err
	})
	return h
}

// cmd runs a runtime API command that must answer nothing.
func (h *haproxyServer) cmd(t *testing.T, cmd string) {
	t.Helper()
	out, err := h.rt.Command(context.Background(), cmd)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("haproxy %q: %q, %v", cmd, out, err)
	}
}

func (h *haproxyServer) server(t *testing.T, backend, server string) pool.ServerStatus {
	t.Helper()
	s, err := h.rt.Server(context.Background(), backend, server)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serversState is "show servers state" without the columns that tick by
// themselves, to compare before and after.
func (h *haproxyServer) serversState(t *testing.T, backend string) string {
	t.Helper()
	out, err := h.rt.Command(context.Background(), "show servers state "+backend)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 9 {
			f[9] = "-" // srv_time_since_last_change
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

// TestMain removes the poolsync binary the tests built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if poolsyncPath != "" {
		os.RemoveAll(filepath.Dir(poolsyncPath))
	}
	os.Exit(code)
}

var (
	poolsyncOnce sync.Once
	poolsyncPath string
	poolsyncErr  error
)

// startPoolsync builds testdata/fleet/poolsync once and runs it to apply the
// keys under prefix to backend's servers.
func startPoolsync(t *testing.T, etcd, prefix, backend, api string) {
	t.Helper()
	poolsyncOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pooltest-bin")
		if err != nil {
			poolsyncErr = err
			return
		}
		poolsyncPath = filepath.Join(dir, "poolsync")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", poolsyncPath, "./testdata/fleet/poolsync")
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			poolsyncErr = fmt.Errorf("go build ./testdata/fleet/poolsync: %v\n%s", err, out.Bytes())
		}
	})
	if poolsyncErr != nil {
		t.Fatal(poolsyncErr)
	}
	startProcess(t, "poolsync", poolsyncPath, "--etcd", etcd, "--prefix", prefix,
		"--backend", backend, "--haproxy", api, "--resync", "1s", "--timeout", "2s", "-v")
}

// app is a tiny HTTP server behind HAProxy that can be stopped gracefully
// and started again on the same address.
type app struct {
	addr string
	hits atomic.Int64 // requests to / (not /healthz)

	mu  sync.Mutex
	srv *http.Server
}

func newApp(t *testing.T, ip string) *app {
	t.Helper()
	a := &app{addr: net.JoinHostPort(ip, fmt.Sprint(freePort(t, ip)))}
	a.start(t)
	t.Cleanup(func() { a.stop(t) })
	return a
}

func (a *app) start(t *testing.T) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		time.Sleep(2 * time.Millisecond) // so requests overlap and sessions exist
		fmt.Fprintln(w, "hello from", a.addr)
	})
	var l net.Listener
	eventually(t, "listen on "+a.addr, func() (err error) {
		l, err = net.Listen("tcp", a.addr)
		return err
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	go srv.Serve(l)
}

// stop shuts the server down gracefully: no new connections, in-flight
// requests finish.
func (a *app) stop(t *testing.T) {
	a.mu.Lock()
	srv := a.srv
	a.srv = nil
	a.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("stop app %s: %v", a.addr, err)
	}
}
