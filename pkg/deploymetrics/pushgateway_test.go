package deploymetrics_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
)

// pushed is one request the fake Pushgateway received.
type pushed struct {
	method, rawPath, contentType, user, pass string
	auth                                     bool
	body                                     []byte
}

// fakeGateway answers every request with status and records it.
func fakeGateway(t *testing.T, status int, answer string) (*httptest.Server, func() []pushed) {
	t.Helper()
	var mu sync.Mutex
	var got []pushed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, ok := r.BasicAuth()
		mu.Lock()
		got = append(got, pushed{
			method: r.Method, rawPath: r.URL.EscapedPath(), contentType: r.Header.Get("Content-Type"),
			user: user, pass: pass, auth: ok, body: body,
		})
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pushed {
		mu.Lock()
		defer mu.Unlock()
		return append([]pushed(nil), got...)
	}
}

func pgConfig(url string) deploymetrics.Config {
	return deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: url}}
}

func TestPushgatewayPut(t *testing.T) {
	srv, requests := fakeGateway(t, http.StatusOK, "")
	var c deploymetrics.Counters
	c.Finish("done", time.Second, 2, false, "abc", "cv", time.Now())
	if err := deploymetrics.Write(context.Background(), pgConfig(srv.URL+"/"), "web", "prod", c); err != nil {
		t.Fatal(err)
	}
	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPut {
		t.Errorf("method %s, want PUT (replace the group)", r.method)
	}
	if want := "/metrics/job/deployctl/app/web/env/prod"; r.rawPath != want {
		t.Errorf("path %s, want %s", r.rawPath, want)
	}
	if !strings.HasPrefix(r.contentType, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", r.contentType)
	}
	if r.auth {
		t.Error("basic auth sent without credentials in the URL")
	}
	if !bytes.Equal(r.body, deploymetrics.Render("web", "prod", c)) {
		t.Errorf("body is not Render's output:\n%s", r.body)
	}
	parseText(t, r.body)
}

func TestPushgatewayPathEscaping(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		job, app, env string
		want          string
	}{
		{"deployctl", "web", "prod", "/metrics/job/deployctl/app/web/env/prod"},
		{"deploys", "team/web", "eu/prod", "/metrics/job/deploys/app@base64/" + b64("team/web") + "/env@base64/" + b64("eu/prod")},
		{"my job", "a b", "x?y#z%", "/metrics/job/my%20job/app/a%20b/env/x%3Fy%23z%25"},
		{"d/ctl", "..", ".", "/metrics/job@base64/" + b64("d/ctl") + "/app@base64/" + b64("..") + "/env@base64/" + b64(".")},
		{"deployctl", "wéb", "prod", "/metrics/job/deployctl/app/w%C3%A9b/env/prod"},
		{"deployctl", "web", "?/", "/metrics/job/deployctl/app/web/env@base64/" + b64("?/")},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv, requests := fakeGateway(t, http.StatusAccepted, "")
			cfg := pgConfig(srv.URL + "/pgw/")
			cfg.Pushgateway.Job = tt.job
			if err := deploymetrics.Write(context.Background(), cfg, tt.app, tt.env, deploymetrics.Counters{}); err != nil {
				t.Fatal(err)
			}
			reqs := requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			if want := "/pgw" + tt.want; reqs[0].rawPath != want {
				t.Errorf("path %s, want %s", reqs[0].rawPath, want)
			}
		})
	}
}

func TestPushgatewayErrorsHideCredentials(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusMovedPermanently} {
		srv, requests := fakeGateway(t, status, "pushed metrics are invalid or inconsistent\nwith existing metrics")
		url := strings.Replace(srv.URL, "http://", "http://deployer:hunter2@", 1)
		err := deploymetrics.Write(context.Background(), pgConfig(url), "web", "prod", deploymetrics.Counters{})
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		msg := err.Error()
		t.Logf("status %d: %s", status, msg)
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "deployer") {
			t.Errorf("error shows the credentials: %s", msg)
		}
		if !strings.Contains(msg, srv.URL+"/metrics/job/deployctl/app/web/env/prod") || !strings.Contains(msg, http.StatusText(status)) {
			t.Errorf("error should name the URL and the status: %s", msg)
		}
		if status == http.StatusBadRequest && !strings.Contains(msg, "inconsistent with existing") {
			t.Errorf("error should carry the answer's text: %s", msg)
		}
		reqs := requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests (a redirect is not followed)", len(reqs))
		}
		if !reqs[0].auth || reqs[0].user != "deployer" || reqs[0].pass != "hunter2" {
			t.Errorf("basic auth not sent: %+v", reqs[0])
		}
	}
}

func TestPushgatewayTimeout(t *testing.T) {
	// Three ways for a server to hang: never answer, answer the headers and
	// never finish the body, accept the connection and never read from it.
	release := make(chan struct{})
	hold := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hold(r) }))
	halfBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		hold(r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var connsMu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c) // held open, never read
			connsMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(release)
		silent.Close()
		halfBody.Close()
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
	})

	const timeout = 300 * time.Millisecond
	for name, url := range map[string]string{
		"no answer":   silent.URL,
		"half a body": halfBody.URL,
		"never reads": "http://" + ln.Addr().String(),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := pgConfig(url)
			cfg.Pushgateway.Timeout = timeout
			start := time.Now()
			err := deploymetrics.Write(context.Background(), cfg, "web", "prod", deploymetrics.Counters{})
			took := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("after %s: %v", took.Round(time.Millisecond), err)
			if took > timeout+2*time.Second {
				t.Errorf("took %s with a %s timeout", took, timeout)
			}
		})
	}

	// The caller's context bounds it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := deploymetrics.Write(ctx, pgConfig(silent.URL), "web", "prod", deploymetrics.Counters{}); err == nil {
		t.Error("no error with a cancelled context")
	}
}

func TestPushgatewayRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	cfg := pgConfig(url)
	cfg.Pushgateway.Timeout = 2 * time.Second
	if err := deploymetrics.Write(context.Background(), cfg, "web", "prod", deploymetrics.Counters{}); err == nil {
		t.Error("no error when nothing listens")
	}
}

// TestWriteBothOutputs: a failing Pushgateway does not keep the textfile
// from being written, and the error says which output failed.
func TestWriteBothOutputs(t *testing.T) {
	srv, _ := fakeGateway(t, http.StatusServiceUnavailable, "")
	path := filepath.Join(t.TempDir(), "deployctl.prom")
	cfg := pgConfig(srv.URL)
	cfg.Textfile = path
	err := deploymetrics.Write(context.Background(), cfg, "web", "prod", deploymetrics.Counters{})
	if err == nil || !strings.Contains(err.Error(), "metrics pushgateway") {
		t.Fatalf("error %v, want the pushgateway's", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("textfile not written: %v", err)
	}
}
