package notify

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleEvent is a failure with every field set.
func sampleEvent(kind Kind) Event {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return Event{
		Kind: kind, App: "restbase", Env: "production", Ref: "v2", Rev: "0123456789abcdef0123456789abcdef01234567",
		PreviousRev: "fedcba9876543210fedcba9876543210fedcba98", ConfigVersion: "c0ffee",
		Outcome: "rolled back", Reason: "healthz: status 503", FailedHost: "rb1002",
		HostsChanged: []string{"rb1001", "rb1002"}, HostsLeftDepooled: []string{"rb1002"},
		User: "alice", DeployHost: "deploy1001", RolloutID: "20260304-050607-ab12",
		Started: start, Finished: start.Add(90 * time.Second), Duration: 90 * time.Second,
	}
}

func intp(n int) *int { return &n }

// mustNew builds a Notifier that logs to t.
func mustNew(t *testing.T, cfg Config, opts Options) *Notifier {
	t.Helper()
	n, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readOrEmpty returns a file's content, or "" if it does not exist.
func readOrEmpty(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// request is what a test server received.
type request struct {
	method string
	header http.Header
	body   []byte
}

// recorder is a real HTTP server that answers each request with the next
// status of a script (the last one repeats) and records what it got.
type recorder struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []request
}

func newRecorder(t *testing.T, statuses ...int) *recorder {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{http.StatusOK}
	}
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{method: req.Method, header: req.Header.Clone(), body: body})
		n := len(r.reqs)
		r.mu.Unlock()
		w.WriteHeader(statuses[min(n, len(statuses))-1])
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// listen returns a TCP listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// rawServer accepts TCP connections and gives each to handle in a
// goroutine of its own; at the end of the test it closes the listener and
// every connection and waits for the handlers. It returns the address.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln := listen(t)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// silentListener accepts TCP connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	return rawServer(t, func(net.Conn) {})
}

// stallingServer sends the headers of status, then never finishes the
// body (until the client goes away or the test ends).
func stallingServer(t *testing.T, status int, header map[string]string) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-req.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv.URL
}

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// sendWithin calls n.Send and fails the test if it is still running after
// bound: a liveness bound, generous, not a timing assertion.
func sendWithin(t *testing.T, bound time.Duration, n *Notifier, ev Event) []error {
	t.Helper()
	return sendCtxWithin(t, context.Background(), bound, n, ev)
}

// sendCtxWithin is sendWithin with a context.
func sendCtxWithin(t *testing.T, ctx context.Context, bound time.Duration, n *Notifier, ev Event) []error {
	t.Helper()
	done := make(chan []error, 1)
	go func() { done <- n.Send(ctx, ev) }()
	select {
	case errs := <-done:
		return errs
	case <-time.After(bound):
		t.Fatalf("Send still running after %s", bound)
		return nil
	}
}

// shell returns the path of sh; the command tests need it and fail
// without it rather than skip.
func shell(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("the command tests need sh: %v", err)
	}
	return p
}

// script is an argv that runs a shell script with args as $1...
func script(t *testing.T, src string, args ...string) []string {
	return append([]string{shell(t), "-c", src, "sh"}, args...)
}

// errText joins errors for messages and substring checks.
func errText(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid string) bool {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitFor polls cond until it holds or bound passes.
func waitFor(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
