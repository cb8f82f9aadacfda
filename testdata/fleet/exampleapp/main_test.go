package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    config
		wantErr string
	}{
		{name: "empty", in: "", want: defaultConfig()},
		{name: "comments and keys", in: "# c\n\ngreeting: hi there\nshutdown_timeout: 2s\n",
			want: config{Greeting: "hi there", ShutdownTimeout: 2 * time.Second}},
		{name: "unknown key", in: "colour: red\n", wantErr: `unknown key "colour"`},
		{name: "malformed line", in: "greeting hi\n", wantErr: "line 1"},
		{name: "bad duration", in: "shutdown_timeout: soon\n", wantErr: "shutdown_timeout"},
		{name: "duplicate", in: "greeting: a\ngreeting: b\n", wantErr: "set twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadRelease(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    release
		wantErr string
	}{
		{name: "good default mode", files: map[string]string{"VERSION": "v1\n"},
			want: release{Version: "v1", Mode: modeGood, BindDelay: defaultBindDelay}},
		{name: "slowbind seconds", files: map[string]string{"VERSION": "x", "MODE": "bad-slowbind", "BIND_DELAY": "3"},
			want: release{Version: "x", Mode: modeBadSlowBind, BindDelay: 3 * time.Second}},
		{name: "slowbind duration", files: map[string]string{"VERSION": "x", "MODE": "bad-slowbind", "BIND_DELAY": "1500ms"},
			want: release{Version: "x", Mode: modeBadSlowBind, BindDelay: 1500 * time.Millisecond}},
		{name: "no version", files: map[string]string{"MODE": "good"}, wantErr: "VERSION"},
		{name: "unknown mode", files: map[string]string{"VERSION": "x", "MODE": "chaos"}, wantErr: "unknown mode"},
		{name: "bad delay", files: map[string]string{"VERSION": "x", "BIND_DELAY": "forever"}, wantErr: "BIND_DELAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readRelease(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Dir = dir
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoggerFormats(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		format string
		want   string
	}{
		{name: "text", format: formatText, want: "2026-11-25T10:00:00.000Z INFO up\n" +
			"2026-11-25T10:00:00.000Z ERROR boom\n  at a (x.js:1)\n  at b (y.js:2)\n"},
		{name: "json", format: formatJSON, want: `{"name":"exampleapp","hostname":"h","pid":7,"level":30,"msg":"up","time":"2026-11-25T10:00:00.000Z","v":0}` + "\n" +
			`{"name":"exampleapp","hostname":"h","pid":7,"level":50,"msg":"boom","time":"2026-11-25T10:00:00.000Z","err":{"message":"boom","stack":"boom\n    at a (x.js:1)\n    at b (y.js:2)"},"v":0}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &logger{w: &buf, format: tt.format, now: func() time.Time { return fixed }, pid: 7, host: "h"}
			l.Info("up")
			l.ErrorStack("boom", []string{"a (x.js:1)", "b (y.js:2)"})
			if buf.String() != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", buf.String(), tt.want)
			}
		})
	}
}

func TestHandlers(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		wantHealth  int
		want500s    int // out of 9 requests to /
		wantVersion string
	}{
		{name: "good", mode: modeGood, wantHealth: 200, want500s: 0},
		{name: "bad-health", mode: modeBadHealth, wantHealth: 503, want500s: 0},
		{name: "bad-5xx", mode: modeBad5xx, wantHealth: 200, want500s: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(release{Version: "v9", Mode: tt.mode}, defaultConfig(), "host7", "127.0.1.7:8080")
			srv := httptest.NewServer(a.handler())
			defer srv.Close()

			if got := get(t, srv.URL+"/healthz").StatusCode; got != tt.wantHealth {
				t.Errorf("/healthz = %d, want %d", got, tt.wantHealth)
			}
			var n500 int
			for range 9 {
				resp := get(t, srv.URL+"/")
				switch resp.StatusCode {
				case 500:
					n500++
				case 200:
					var ans rootAnswer
					if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
						t.Fatal(err)
					}
					if ans.Version != "v9" || ans.Host != "host7" {
						t.Errorf("answer = %+v", ans)
					}
				default:
					t.Errorf("/ = %d", resp.StatusCode)
				}
			}
			if n500 != tt.want500s {
				t.Errorf("500s = %d of 9, want %d", n500, tt.want500s)
			}

			resp := get(t, srv.URL+"/metrics")
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var got500 float64
			for _, m := range fams["http_requests_total"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "code" && l.GetValue() == "500" {
						got500 = m.GetCounter().GetValue()
					}
				}
			}
			if int(got500) != tt.want500s {
				t.Errorf("http_requests_total{code=\"500\"} = %v, want %d", got500, tt.want500s)
			}
			if fams["app_info"] == nil {
				t.Error("app_info missing")
			}
		})
	}
}

func TestServeStartAndShutdown(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		wantCode int
		wantLog  string
	}{
		{name: "bad-start exits 1", mode: modeBadStart, wantCode: 1, wantLog: "FATAL"},
		{name: "good stops with 0", mode: modeGood, wantCode: 0, wantLog: "INFO stopped"},
		{name: "slowbind stops before binding", mode: modeBadSlowBind, wantCode: 0, wantLog: "stopped before binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			rel := release{Version: "v1", Mode: tt.mode, BindDelay: time.Minute}
			code := serve(ctx, newLogger(&buf, formatText), options{listen: "127.0.0.1:0"}, rel, defaultConfig())
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(buf.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, buf.String())
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{name: "ok", args: []string{"--listen", "127.0.1.1:8080", "--name", "h1"}},
		{name: "no listen", args: []string{"--name", "h1"}, wantErr: true},
		{name: "bad listen", args: []string{"--listen", "nope"}, wantErr: true},
		{name: "bad format", args: []string{"--listen", "127.0.0.1:1", "--log-format", "xml"}, wantErr: true},
		{name: "extra args", args: []string{"--listen", "127.0.0.1:1", "x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
