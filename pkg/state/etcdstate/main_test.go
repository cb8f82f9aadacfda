package etcdstate_test

// A real etcd for the tests (Debian's etcd-server), on loopback with free
// ports and its data in t.TempDir(), stopped by PID when the test ends;
// and a helper process that takes a lock and is killed holding it.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

const (
	etcdBin   = "/usr/bin/etcd"
	startWait = 20 * time.Second // etcd must answer within this after start
	stopWait  = 5 * time.Second  // after SIGTERM, then SIGKILL
	bound     = 30 * time.Second // a wait that must end on its own
)

// The helper process: the test binary again, with helperEnv set, locks
// the environment, records a run in progress, says "locked" and waits to
// be killed.
const (
	helperEnv = "ETCDSTATE_HELPER_ENDPOINT"
	helperTTL = 2 * time.Second
)

func TestMain(m *testing.M) {
	if ep := os.Getenv(helperEnv); ep != "" {
		os.Exit(helperMain(ep))
	}
	os.Exit(m.Run())
}

func helperMain(endpoint string) int {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	s, err := etcdstate.Open(ctx, etcdstate.Config{Endpoints: []string{endpoint}, LeaseTTL: helperTTL, LogDir: os.TempDir(), RequestTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := s.Lock(ctx, "prod", state.Owner{User: "helper", Command: "rollout v2"}, 10*time.Second)
	if err == nil {
		err = s.Save("prod", state.State{Current: &state.Rollout{ID: "r1", Ref: "v2", By: l.Owner, Phase: "promote"}})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	return 0
}

// startHelper runs the helper against e and waits until it holds the lock.
func startHelper(t *testing.T, e *etcdServer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+e.endpoint)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s != "locked" {
			t.Fatalf("helper said %q, want \"locked\"", s)
		}
	case <-time.After(bound):
		t.Fatal("helper did not take the lock in time")
	}
	return cmd
}

// needEtcd skips under -short, and when etcd is missing, unless CI=true:
// then a missing etcd is a failure.
func needEtcd(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real etcd: not with -short")
	}
	if _, err := os.Stat(etcdBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (apt-get install etcd-server): %v", etcdBin, err)
		}
		t.Skipf("%s missing (apt-get install etcd-server): %v", etcdBin, err)
	}
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// etcdServer is one etcd member on loopback, with a raw client.
type etcdServer struct {
	endpoint string
	pid      int
	cli      *clientv3.Client
}

func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	needEtcd(t)
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(etcdBin,
		"--name", "statetest", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "statetest="+peer, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) // a test may have stopped it
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopWait):
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			if len(out) > 3000 {
				out = out[len(out)-3000:]
			}
			t.Logf("etcd (pid %d) log:\n%s", cmd.Process.Pid, out)
		}
	})
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	e := &etcdServer{endpoint: client, pid: cmd.Process.Pid, cli: cli}
	deadline := time.Now().Add(startWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "/")
		cancel()
		if err == nil {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd does not answer within %s: %v", startWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *etcdServer) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *etcdServer) put(t *testing.T, key, val string) {
	t.Helper()
	if _, err := e.cli.Put(e.ctx(t), key, val); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// get returns a key's value and mod revision (0 when missing).
func (e *etcdServer) get(t *testing.T, key string) (string, int64) {
	t.Helper()
	resp, err := e.cli.Get(e.ctx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
}

// lease returns the lease the lock key of env is attached to.
func (e *etcdServer) lease(t *testing.T, env string) clientv3.LeaseID {
	t.Helper()
	resp, err := e.cli.Get(e.ctx(t), etcdstate.DefaultPrefix+env+"/lock")
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("lock key of %s: %v, %d keys", env, err, len(resp.Kvs))
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

// open opens a store on e: one "deploy host". change adjusts the config.
func open(t *testing.T, e *etcdServer, change ...func(*etcdstate.Config)) *etcdstate.Store {
	t.Helper()
	cfg := etcdstate.Config{Endpoints: []string{e.endpoint}, LogDir: t.TempDir(), DialTimeout: 2 * time.Second, RequestTimeout: time.Second}
	for _, c := range change {
		c(&cfg)
	}
	s, err := etcdstate.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ttl(d time.Duration) func(*etcdstate.Config) {
	return func(c *etcdstate.Config) { c.LeaseTTL = d }
}

// lock takes env's lock on s with no wait, released at cleanup.
func lock(t *testing.T, s *etcdstate.Store, env string, o state.Owner) *state.Lock {
	t.Helper()
	l, err := s.Lock(context.Background(), env, o, state.NoWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

// closedWithin waits up to d for ch to close and says how long it took.
func closedWithin(t *testing.T, what string, ch <-chan struct{}, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("%s: not within %s", what, d)
		return 0
	}
}

// eventually polls cond until it holds or bound passes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, bound, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
