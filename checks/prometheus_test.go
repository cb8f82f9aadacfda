package checks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const prometheusBin = "/usr/bin/prometheus"

// fakeHost serves /metrics like the exampleapp: http_requests_total by
// code, growing at rate requests per second with errShare of them 500s.
type fakeHost struct {
	name     string
	rate     float64
	errShare float64
	start    time.Time
	srv      *httptest.Server
}

func (h *fakeHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	total := h.rate * time.Since(h.start).Seconds()
	errs := float64(int(total * h.errShare))
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP app_info Version and mode of the running exampleapp.\n# TYPE app_info gauge\n"+
		"app_info{version=\"v1\",mode=\"good\"} 1\n"+
		"# HELP http_requests_total HTTP requests answered, by status code.\n# TYPE http_requests_total counter\n"+
		"http_requests_total{code=\"200\"} %d\nhttp_requests_total{code=\"500\"} %d\n", int(total-errs), int(errs))
}

// promFleet is a real Prometheus scraping every second four fake hosts:
// h1 and h2 healthy, h3 with 30% 500s, h4 idle.
type promFleet struct {
	url   string
	dir   string // config, data and log; removed by stop
	cmd   *exec.Cmd
	hosts []*fakeHost
	err   error
}

var (
	promOnce sync.Once
	prom     *promFleet
)

// needPrometheus returns the shared Prometheus, started on first use and
// ready with rate data for every host.
func needPrometheus(t *testing.T) *promFleet {
	t.Helper()
	requireBinary(t, prometheusBin)
	promOnce.Do(func() { prom = startPrometheus() })
	if prom.err != nil {
		t.Fatal(prom.err)
	}
	return prom
}

func startPrometheus() *promFleet {
	f := &promFleet{}
	now := time.Now()
	for _, h := range []*fakeHost{{name: "h1", rate: 200, errShare: 0.01}, {name: "h2", rate: 200, errShare: 0.02}, {name: "h3", rate: 200, errShare: 0.30}, {name: "h4"}} {
		h.start = now
		h.srv = httptest.NewServer(h)
		f.hosts = append(f.hosts, h)
	}
	dir, err := os.MkdirTemp("", "checks-prometheus-")
	if err != nil {
		f.err = err
		return f
	}
	f.dir = dir
	var cfg strings.Builder
	cfg.WriteString("global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\nscrape_configs:\n- job_name: app\n  static_configs:\n")
	for _, h := range f.hosts {
		fmt.Fprintf(&cfg, "  - targets: [%q]\n    labels: {host: %s}\n", strings.TrimPrefix(h.srv.URL, "http://"), h.name)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		f.err = err
		return f
	}
	listen := closedPortAddr()
	f.url = "http://" + listen
	f.cmd = exec.Command(prometheusBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
		"--log.level=warn")
	f.cmd.Dir = dir
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		f.err = err
		return f
	}
	f.cmd.Stdout, f.cmd.Stderr = logFile, logFile
	// If the test binary dies, Prometheus dies with it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		f.err = err
		return f
	}
	// Ready, then rate data for the hosts with traffic: a bounded wait.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := newPromClient(f.url)
	defer client.close()
	for {
		v, ok, err := client.query(ctx, `count(rate(http_requests_total{host=~"h1|h2|h3"}[5s]) > 0)`)
		if err == nil && ok && v == 6 {
			return f
		}
		if sleep(ctx, 250*time.Millisecond) != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			f.err = fmt.Errorf("prometheus at %s not ready with data within 60s (last: %v, %v, %v); log:\n%s", f.url, v, ok, err, log)
			return f
		}
	}
}

func (f *promFleet) stop() {
	if f.cmd != nil && f.cmd.Process != nil {
		f.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { f.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			f.cmd.Process.Kill()
			<-done
		}
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
	for _, h := range f.hosts {
		h.srv.Close()
	}
}

// closedPortAddr is closedPort without a testing.T, for TestMain's fleet.
func closedPortAddr() string {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}
