package testfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestMain(m *testing.M) { os.Exit(Main(m, Options{})) }

// TestFleet proves the fleet's promises against the real thing, in order;
// its last step stops the fleet and checks that nothing is left.
func TestFleet(t *testing.T) {
	f := Get(t)
	if len(f.Hosts) != DefaultHosts {
		t.Fatalf("fleet has %d hosts, want %d", len(f.Hosts), DefaultHosts)
	}
	t.Run("ssh verifies host keys", func(t *testing.T) { testSSH(t, f) })
	t.Run("each host has its own srv", func(t *testing.T) { testOwnSrv(t, f) })
	t.Run("haproxy spreads requests", func(t *testing.T) { testSpread(t, f) })
	t.Run("haproxy is strict", func(t *testing.T) { testStrictLB(t, f) })
	t.Run("etcd depool drains in haproxy", func(t *testing.T) { testDepool(t, f) })
	t.Run("prometheus scrapes every host", func(t *testing.T) { testPrometheus(t, f) })
	t.Run("bad versions misbehave", func(t *testing.T) { testBadVersions(t, f) })
	t.Run("scap layout, wipe and standard restore", func(t *testing.T) { testScapLayout(t, f) })
	t.Run("down stops every process", func(t *testing.T) { testDown(t, f) })
}

func testSSH(t *testing.T, f *Fleet) {
	for _, h := range f.Hosts {
		// The server end of the connection is the host's own address.
		conn := strings.Fields(f.Run(t, h.Name, "sh", "-c", "echo $SSH_CONNECTION"))
		if len(conn) != 4 || conn[2] != h.Address || conn[3] != strconv.Itoa(h.SSHPort) {
			t.Errorf("%s: SSH_CONNECTION = %q, want server %s %d", h.Name, conn, h.Address, h.SSHPort)
		}
	}

	// The same login fails when known_hosts lacks the key, or holds another
	// host's key under this host's name: the key really is verified.
	kh, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	var host2Key string
	for _, line := range strings.Split(string(kh), "\n") {
		if strings.Contains(line, "[host2]") {
			host2Key = strings.SplitN(line, " ", 2)[1]
		}
	}
	if host2Key == "" {
		t.Fatalf("known_hosts has no host2 line:\n%s", kh)
	}
	h1 := f.Hosts[0]
	tests := []struct {
		name       string
		knownHosts string
	}{
		{name: "empty known_hosts", knownHosts: ""},
		{name: "wrong key", knownHosts: fmt.Sprintf("[%s]:%d,[%s]:%d %s\n", h1.Address, h1.SSHPort, h1.Name, h1.SSHPort, host2Key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(file, []byte(tt.knownHosts), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "ssh", "-F", f.SSHConfig, "-o", "UserKnownHostsFile="+file,
				"-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", h1.Name, "true").CombinedOutput()
			if err == nil {
				t.Fatal("login succeeded without the right host key")
			}
			if !strings.Contains(string(out), "Host key verification failed") {
				t.Fatalf("login failed for another reason: %v: %s", err, out)
			}
		})
	}
}

func testOwnSrv(t *testing.T, f *Fleet) {
	h1, h2 := f.Hosts[0], f.Hosts[1]
	name := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	f.Run(t, h1.Name, "sh", "-c", "echo "+h1.Name+" > /srv/"+name)
	t.Cleanup(func() { os.Remove(h1.Path("/srv/" + name)) })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _, err := f.Exec(ctx, h2.Name, nil, "test", "-e", "/srv/"+name)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("%s sees %s's /srv/%s (test -e: %v)", h2.Name, h1.Name, name, err)
	}
	if b, err := os.ReadFile(h1.Path("/srv/" + name)); err != nil || string(b) != h1.Name+"\n" {
		t.Errorf("outside view of %s's /srv: %q, %v", h1.Name, b, err)
	}
	if _, err := os.Stat(h2.Path("/srv/" + name)); !os.IsNotExist(err) {
		t.Errorf("%s's /srv has the probe: %v", h2.Name, err)
	}
	if _, err := os.Stat("/srv/" + name); !os.IsNotExist(err) {
		t.Errorf("the machine's /srv has the probe: %v", err)
	}

	// Each host is its own mount namespace, and what a login starts (the
	// app, started by fleet.sh up over SSH) stays in it.
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, h := range f.Hosts {
		ns := strings.TrimSpace(f.Run(t, h.Name, "readlink", "/proc/self/ns/mnt"))
		if ns == self {
			t.Errorf("%s runs in the machine's mount namespace", h.Name)
		}
		if other, dup := seen[ns]; dup {
			t.Errorf("%s and %s share mount namespace %s", h.Name, other, ns)
		}
		seen[ns] = h.Name
		pid := f.AppPID(t, h.Name)
		appNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil || appNS != ns {
			t.Errorf("%s: app pid %d in namespace %q (%v), want the login's %s", h.Name, pid, appNS, err, ns)
		}
	}
}

func testSpread(t *testing.T, f *Fleet) {
	counts := map[string]int{}
	for range 30 {
		code, body := get(t, f.LBURL+"/")
		if code != http.StatusOK {
			t.Fatalf("GET via LB = %d: %s", code, body)
		}
		var ans struct{ Host, Version string }
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		counts[ans.Host]++
	}
	for _, h := range f.Hosts {
		if counts[h.Name] < 5 {
			t.Errorf("%s answered %d of 30 requests through HAProxy: %v", h.Name, counts[h.Name], counts)
		}
	}
}

func testStrictLB(t *testing.T, f *Fleet) {
	if f.LBMode != LBStrict {
		t.Fatalf("LB mode %q, want %q by default", f.LBMode, LBStrict)
	}
	cfg, err := os.ReadFile(filepath.Join(f.Dir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var retries []string
	for _, line := range strings.Split(string(cfg), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "retries ") {
			retries = append(retries, line)
		}
		if strings.Contains(line, "redispatch") && !strings.HasPrefix(line, "#") {
			t.Errorf("haproxy.cfg has %q", line)
		}
	}
	if len(retries) != 1 || retries[0] != "retries 0" {
		t.Errorf("haproxy.cfg retries lines %q, want just \"retries 0\"", retries)
	}

	// With its health check disabled a server stays UP whatever it does, so
	// HAProxy keeps sending it its share after the app stops: those requests
	// fail, unless HAProxy retried them elsewhere.
	h := f.Hosts[len(f.Hosts)-1]
	server := f.Backend + "/" + h.Name
	haproxy := func(cmd string) {
		t.Helper()
		out, err := f.HAProxyCommand(context.Background(), cmd)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Fatalf("haproxy %s: %q %v", cmd, out, err)
		}
	}
	haproxy("disable health " + server)
	t.Cleanup(func() {
		f.StartApp(t, h.Name, "v1")
		haproxy("enable health " + server)
		eventually(t, 10*time.Second, h.Name+" UP again", func() (bool, string) {
			st, err := f.ServerStatus(context.Background())
			if err != nil {
				return false, err.Error()
			}
			return st[h.Name] == "UP", fmt.Sprint(st)
		})
	})
	f.StopApp(t, h.Name)

	n := 6 * len(f.Hosts)
	var failed int
	for range n {
		code, body := get(t, f.LBURL+"/")
		switch {
		case code == http.StatusServiceUnavailable:
			failed++
		case code != http.StatusOK:
			t.Fatalf("GET via LB = %d: %s", code, body)
		case strings.Contains(body, `"host":"`+h.Name+`"`):
			t.Fatalf("the stopped %s answered: %s", h.Name, body)
		}
	}
	// Round robin gives the stopped server one request in len(Hosts).
	if want := n / len(f.Hosts); failed != want {
		t.Errorf("%d of %d requests through HAProxy failed with %s stopped, want %d: HAProxy retried elsewhere", failed, n, h.Name, want)
	}
}

func testDepool(t *testing.T, f *Fleet) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: f.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() }) // after the restoring put below
	host := f.Hosts[1].Name
	put := func(pooled string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cli.Put(ctx, f.PoolKey(host), `{"pooled":"`+pooled+`","weight":10}`); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { put("yes") })

	steps := []struct {
		pooled, status string
	}{
		{pooled: "no", status: "DRAIN"},
		{pooled: "inactive", status: "MAINT"},
		{pooled: "yes", status: "UP"},
	}
	for _, st := range steps {
		put(st.pooled)
		eventually(t, 5*time.Second, host+" "+st.status+" in HAProxy", func() (bool, string) {
			s, err := f.ServerStatus(context.Background())
			if err != nil {
				return false, err.Error()
			}
			return s[host] == st.status, fmt.Sprint(s)
		})
		if st.status == "UP" {
			continue
		}
		for range 12 {
			if _, body := get(t, f.LBURL+"/"); strings.Contains(body, `"host":"`+host+`"`) {
				t.Fatalf("%s answered through HAProxy while %s", host, st.status)
			}
		}
	}
}

func testPrometheus(t *testing.T, f *Fleet) {
	eventually(t, 15*time.Second, "up == 1 for every host", func() (bool, string) {
		code, body := get(t, f.PrometheusURL+"/api/v1/query?query="+url.QueryEscape("up"))
		if code != http.StatusOK {
			return false, body
		}
		var ans struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  []any             `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			return false, err.Error()
		}
		up := map[string]bool{}
		for _, r := range ans.Data.Result {
			if len(r.Value) == 2 && r.Value[1] == "1" {
				up[r.Metric["host"]] = true
			}
		}
		for _, h := range f.Hosts {
			if !up[h.Name] {
				return false, body
			}
		}
		return true, ""
	})
}

func testBadVersions(t *testing.T, f *Fleet) {
	h := f.Hosts[len(f.Hosts)-1]
	logFile := h.Path("/srv/log/" + f.App + ".log")
	// logSince returns what the app logged after StartApp.
	start := func(t *testing.T, tag string) func() string {
		t.Helper()
		var offset int64
		if st, err := os.Stat(logFile); err == nil {
			offset = st.Size()
		}
		f.StartApp(t, h.Name, tag)
		return func() string {
			b, _ := os.ReadFile(logFile)
			if int64(len(b)) < offset {
				return ""
			}
			return string(b[offset:])
		}
	}
	t.Cleanup(func() {
		f.StartApp(t, h.Name, "v1")
		eventually(t, 10*time.Second, "v1 back on "+h.Name, func() (bool, string) {
			code, body := get(t, h.AppURL()+"/version")
			return code == 200 && body == "v1\n", body
		})
	})

	t.Run("bad-start exits at start", func(t *testing.T) {
		logged := start(t, "bad-start")
		pid := f.AppPID(t, h.Name)
		eventually(t, 5*time.Second, "bad-start to exit", func() (bool, string) {
			return !processAlive(pid), "pid " + strconv.Itoa(pid) + " runs"
		})
		if !strings.Contains(logged(), " FATAL ") {
			t.Errorf("no FATAL line logged:\n%s", logged())
		}
		if portOpen(h.AppAddr()) {
			t.Error("bad-start bound its port")
		}
	})

	t.Run("bad-health answers 503 on healthz", func(t *testing.T) {
		start(t, "bad-health")
		eventually(t, 10*time.Second, "/healthz 503", func() (bool, string) {
			code, body := get(t, h.AppURL()+"/healthz")
			return code == http.StatusServiceUnavailable, fmt.Sprint(code, " ", body)
		})
		if code, _ := get(t, h.AppURL()+"/"); code != http.StatusOK {
			t.Errorf("/ = %d, want 200", code)
		}
	})

	t.Run("bad-log logs ERROR and FATAL while healthy", func(t *testing.T) {
		logged := start(t, "bad-log")
		eventually(t, 10*time.Second, "ERROR, FATAL and a traceback in the log", func() (bool, string) {
			l := logged()
			return strings.Contains(l, " ERROR ") && strings.Contains(l, " FATAL ") && strings.Contains(l, "\n  at "), l
		})
		if code, _ := get(t, h.AppURL()+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz = %d, want 200", code)
		}
	})

	t.Run("bad-5xx answers 500 on a third", func(t *testing.T) {
		start(t, "bad-5xx")
		eventually(t, 10*time.Second, "/healthz 200", func() (bool, string) {
			code, body := get(t, h.AppURL()+"/healthz")
			return code == http.StatusOK, body
		})
		var n500 int
		const n = 30
		for range n {
			if code, _ := get(t, h.AppURL()+"/"); code == http.StatusInternalServerError {
				n500++
			}
		}
		if n500 < n/4 || n500 > n/2 {
			t.Errorf("%d of %d requests answered 500, want about a third", n500, n)
		}
	})

	t.Run("bad-slowbind binds late", func(t *testing.T) {
		start(t, "bad-slowbind")
		began := time.Now()
		// BIND_DELAY is 8s at that tag: closed for the first 2s, open later.
		for time.Since(began) < 2*time.Second {
			if portOpen(h.AppAddr()) {
				t.Fatalf("port bound after %s", time.Since(began))
			}
			time.Sleep(200 * time.Millisecond)
		}
		eventually(t, 20*time.Second, "the late bind", func() (bool, string) {
			return portOpen(h.AppAddr()), "port closed"
		})
		t.Logf("bound after about %s", time.Since(began).Round(100*time.Millisecond))
	})
}

func testScapLayout(t *testing.T, f *Fleet) {
	h, other := f.Hosts[0], f.Hosts[1]
	appDir := path.Join(f.DeployDir, f.App)
	restored := false
	t.Cleanup(func() {
		if !restored {
			f.RestoreStandard(t)
		}
	})

	// scap clones from the fleet's repository, which the hosts see at the
	// same path as this process does.
	v2 := f.Rev("v2")
	if got := strings.TrimSpace(f.Run(t, h.Name, "git", "-C", f.RepoDir, "rev-parse", "--verify", "v2^{commit}")); got != v2 {
		t.Fatalf("%s sees v2 of %s at %q, want %s", h.Name, f.RepoDir, got, v2)
	}

	rel := f.StartAppScap(t, h.Name, "v2")
	if want := path.Join(appDir, "revs", v2); rel != want {
		t.Fatalf("StartAppScap = %q, want %q", rel, want)
	}
	if link, err := os.Readlink(h.Path(appDir + "/current")); err != nil || link != "revs/"+v2 {
		t.Errorf("current -> %q (%v), want the relative revs/%s", link, err, v2)
	}
	if head, err := os.ReadFile(h.Path(rel + "/.git/HEAD")); err != nil || string(head) != v2+"\n" {
		t.Errorf(".git/HEAD = %q (%v), want the detached %s", head, err, v2)
	}
	for _, name := range []string{".deployctl-rev", ".deployctl-manifest"} {
		if _, err := os.Lstat(h.Path(rel + "/" + name)); !os.IsNotExist(err) {
			t.Errorf("a scap release has %s (%v)", name, err)
		}
	}
	// git on the host sees a clean checkout at the rev, through current.
	cur := appDir + "/current"
	if got := strings.TrimSpace(f.Run(t, h.Name, "git", "-C", cur, "rev-parse", "HEAD")); got != v2 {
		t.Errorf("git rev-parse HEAD in current = %q, want %s", got, v2)
	}
	if st := f.Run(t, h.Name, "git", "-C", cur, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("the checkout is not clean:\n%s", st)
	}
	eventually(t, 10*time.Second, "v2 on "+h.Name, func() (bool, string) {
		code, body := get(t, h.AppURL()+"/version")
		return code == http.StatusOK && body == "v2\n", fmt.Sprint(code, " ", body)
	})
	pid := f.AppPID(t, h.Name)
	if exe := strings.TrimSpace(f.Run(t, h.Name, "readlink", fmt.Sprintf("/proc/%d/exe", pid))); exe != rel+"/bin/"+f.App {
		t.Errorf("the app runs %q, want %s/bin/%s", exe, rel, f.App)
	}

	f.WipeDeploy(t, h.Name)
	if _, err := os.Lstat(h.Path(appDir)); !os.IsNotExist(err) {
		t.Errorf("%s left after WipeDeploy (%v)", appDir, err)
	}
	if processAlive(pid) || portOpen(h.AppAddr()) {
		t.Errorf("the app still runs on %s after WipeDeploy", h.Name)
	}

	// A depooled host is pooled again by RestoreStandard.
	if err := f.putPool(context.Background(), other.Name, "no"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, other.Name+" DRAIN", func() (bool, string) {
		st, err := f.ServerStatus(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return st[other.Name] == "DRAIN", fmt.Sprint(st)
	})

	f.RestoreStandard(t)
	restored = true
	v1 := f.Rev("v1")
	cli, err := clientv3.New(clientv3.Config{Endpoints: f.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, hh := range f.Hosts {
		if link, err := os.Readlink(hh.Path(appDir + "/current")); err != nil || link != "revs/"+v1 {
			t.Errorf("%s: current -> %q (%v), want revs/%s", hh.Name, link, err, v1)
		}
		if m, err := os.ReadFile(hh.Path(appDir + "/revs/" + v1 + "/.deployctl-rev")); err != nil || string(m) != v1+"\n" {
			t.Errorf("%s: marker %q (%v), want %s", hh.Name, m, err, v1)
		}
		if _, err := os.Lstat(hh.Path(appDir + "/revs/" + v1 + "/.git")); !os.IsNotExist(err) {
			t.Errorf("%s: the standard release has a .git (%v)", hh.Name, err)
		}
		if revs, err := os.ReadDir(hh.Path(appDir + "/revs")); err != nil || len(revs) != 1 {
			t.Errorf("%s: revs holds %v (%v), want only %s", hh.Name, revs, err, v1)
		}
		if code, body := get(t, hh.AppURL()+"/version"); code != http.StatusOK || body != "v1\n" {
			t.Errorf("%s: /version = %d %q, want v1", hh.Name, code, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cli.Get(ctx, f.PoolKey(hh.Name))
		cancel()
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `{"pooled":"yes","weight":10}` {
			t.Errorf("%s: pool key %v (%v), want pooled", hh.Name, resp, err)
		}
	}
	st, err := f.ServerStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, hh := range f.Hosts {
		if st[hh.Name] != "UP" {
			t.Errorf("%s is %q in HAProxy after RestoreStandard", hh.Name, st[hh.Name])
		}
	}
}

func testDown(t *testing.T, f *Fleet) {
	// A process left behind by a login must go too: it is in the host's namespace.
	stray, err := strconv.Atoi(strings.TrimSpace(f.Run(t, f.Hosts[0].Name,
		"sh", "-c", "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!")))
	if err != nil {
		t.Fatal(err)
	}
	before, err := livePIDs(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// etcd, haproxy, poolsync, prometheus, then an sshd and an app per host.
	if want := 4 + 2*len(f.Hosts); len(before) != want {
		t.Errorf("%d live fleet processes before down, want %d: %v", len(before), want, before)
	}

	current.mu.Lock()
	s := current.s
	current.mu.Unlock()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if left := stillAlive(before); len(left) > 0 {
		t.Errorf("left after down: %v", left)
	}
	if processAlive(stray) {
		t.Errorf("the process a login left behind (%d) survived down", stray)
	}
	if files, _ := pidFiles(f.Dir); len(files) > 0 {
		t.Errorf("pid files left: %v", files)
	}
}

// eventually polls cond every 100ms until it holds, failing t after timeout
// with cond's last description of what it saw.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; last saw: %s", what, timeout, saw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var httpClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// get returns the status and body of GET url; a transport error is status 0.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func portOpen(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
