package checks

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// exampleApp builds testdata/fleet/exampleapp once per test run.
var exampleApp struct {
	once sync.Once
	bin  string
	err  error
}

func buildExampleApp(t *testing.T) string {
	t.Helper()
	exampleApp.once.Do(func() {
		dir, err := os.MkdirTemp("", "checks-exampleapp-")
		if err != nil {
			exampleApp.err = err
			return
		}
		exampleApp.bin = filepath.Join(dir, "exampleapp")
		out, err := exec.Command("go", "build", "-o", exampleApp.bin, "../testdata/fleet/exampleapp").CombinedOutput()
		if err != nil {
			exampleApp.err = fmt.Errorf("build exampleapp: %v\n%s", err, out)
		}
	})
	if exampleApp.err != nil {
		t.Fatal(exampleApp.err)
	}
	return exampleApp.bin
}

// startExampleApp runs one release of the exampleapp in mode, on a free
// loopback port, logging to logPath; it is stopped by PID when the test ends.
func startExampleApp(t *testing.T, mode, logPath, logFormat string, port int) {
	t.Helper()
	rel := filepath.Join(t.TempDir(), "rel")
	if err := os.MkdirAll(filepath.Join(rel, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(rel, "bin", "exampleapp")
	// The app finds its release from its own path: a hard link keeps the
	// path (a symlink would resolve to the build directory).
	if err := os.Link(buildExampleApp(t), bin); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"VERSION": "v2-" + mode, "MODE": mode, "BIND_DELAY": "4s"} {
		if err := os.WriteFile(filepath.Join(rel, name), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--name", "h1", "--log", logPath, "--log-format", logFormat)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

// traffic asks / every few milliseconds until the test ends, as users would.
func traffic(t *testing.T, port int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: time.Second}
		for ctx.Err() == nil {
			if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
				resp.Body.Close()
			}
			sleep(ctx, 5*time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// anyVerdict accepts whatever a check decided.
const anyVerdict Verdict = -1

// TestExampleApp runs the checks a deploy runs against the real exampleapp
// of every mode: the good release passes every check, and each bad release
// fails the check meant to catch it, with evidence. The fleet version of
// this test (over SSH, with Prometheus) belongs to the lead's fleet tests.
func TestExampleApp(t *testing.T) {
	specs := []Spec{
		{Name: "port", Type: KindPort, PortTimeout: 2 * time.Second},
		{Name: "healthz", Type: KindHTTP, URL: "http://{address}:{port}/healthz", BodyContains: "ok", Retries: ptr(2), Timeout: 3 * time.Second},
		{Name: "version", Type: KindHTTP, URL: "http://{address}:{port}/", JSONField: "host", JSONValue: "{host}", Retries: ptr(0), Timeout: 3 * time.Second},
		{Name: "5xx", Type: KindMetric, Mode: ModeScrape, Stage: "depooled", MaxErrorRatio: f64(0.05), MinRequests: 10, Interval: 500 * time.Millisecond, Count: 2, Timeout: 5 * time.Second},
		{Name: "log", Type: KindLog, Stage: "pooled", Path: "{log}"},
	}
	tests := []struct {
		mode   string
		format string
		want   map[string]Verdict // every check's verdict
		saw    map[string]string  // evidence a failing check must show
	}{
		{"good", FormatText, map[string]Verdict{"port": Pass, "healthz": Pass, "version": Pass, "5xx": Pass, "log": Pass}, nil},
		{"bad-start", FormatText, map[string]Verdict{"port": Fail, "healthz": Skipped, "version": Skipped, "5xx": Skipped, "log": Fail},
			map[string]string{"port": "did not accept a TCP connection within", "log": "FATAL cannot connect to storage backend"}},
		{"bad-slowbind", FormatText, map[string]Verdict{"port": Fail, "healthz": Skipped, "version": Skipped, "5xx": Skipped, "log": Pass},
			map[string]string{"port": "did not accept a TCP connection within"}},
		{"bad-health", FormatText, map[string]Verdict{"port": Pass, "healthz": Fail, "version": Pass, "5xx": Pass, "log": Pass},
			map[string]string{"healthz": "status 503, want 200"}},
		// One request to / may or may not be the third: "version" can go either way.
		{"bad-5xx", FormatText, map[string]Verdict{"port": Pass, "healthz": Pass, "version": anyVerdict, "5xx": Fail, "log": Pass},
			map[string]string{"5xx": "> max_error_ratio 0.05"}},
		{"bad-log", FormatText, map[string]Verdict{"port": Pass, "healthz": Pass, "version": Pass, "5xx": Pass, "log": Fail},
			map[string]string{"log": "ERROR TypeError: Cannot read properties of undefined (reading 'title')\n    at renderPage"}},
		{"bad-log", FormatJSON, map[string]Verdict{"port": Pass, "healthz": Pass, "version": Pass, "5xx": Pass, "log": Fail},
			map[string]string{"log": `"level":60,"msg":"storage: lost connection`}},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.format, func(t *testing.T) {
			t.Parallel()
			s := append([]Spec(nil), specs...)
			s[4].Format = tt.format
			set, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(t.TempDir(), "app.log")
			_, p, _ := strings.Cut(closedPort(t), ":")
			port := atoi(t, p)
			target := Target{Host: "h1", Address: "127.0.0.1", Port: port, Runner: localRunner{}, Vars: map[string]string{"log": logPath}}
			ctx := context.Background()

			base, err := set.Prepare(ctx, target) // before the start: no log yet
			if err != nil {
				t.Fatal(err)
			}
			startExampleApp(t, tt.mode, logPath, tt.format, port)
			traffic(t, port)
			results := set.Run(ctx, StageDepooled, target, base)
			time.Sleep(time.Second) // the soak
			results = append(results, set.Run(ctx, StagePooled, target, base)...)

			for _, r := range results {
				if want := tt.want[r.Name]; r.Verdict != want && want != anyVerdict {
					t.Errorf("%s: %v, want %v: %v\n%s", r.Name, r.Verdict, tt.want[r.Name], r.Err, r.Evidence)
				}
				if want, ok := tt.saw[r.Name]; ok && !strings.Contains(fmt.Sprint(r.Err), want) {
					t.Errorf("%s: error does not show %q:\n%v", r.Name, want, r.Err)
				}
			}
		})
	}
}
