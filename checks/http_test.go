package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTPCheck asks a real HTTP server.
func TestHTTPCheck(t *testing.T) {
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "storage: connection refused", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"app":"exampleapp","version":"v2","host":%q,"checks":[{"name":"db","up":true}]}`, r.URL.Query().Get("h"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "api.example.org" || r.Header.Get("X-Deploy") != "h1" {
			http.Error(w, "wrong vhost "+r.Host, http.StatusNotFound)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/healthz", http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	target := Target{Host: "h1", Address: "127.0.0.1", Vars: map[string]string{"base": srv.URL}}

	tests := []struct {
		name    string
		spec    Spec
		wantErr bool
		saw     []string
	}{
		{"pass", Spec{URL: "{base}/healthz", BodyContains: "ok"}, false, []string{"GET " + srv.URL + "/healthz: 200 in", `body "ok"`, "attempt 1 of 4"}},
		{"status", Spec{URL: "{base}/down", Retries: ptr(1)}, true, []string{"status 503, want 200", `body "storage: connection refused\n"`, "(2 attempts)"}},
		{"retries until it answers", Spec{URL: "{base}/flaky"}, false, []string{"attempt 3 of 4"}},
		{"body_contains", Spec{URL: "{base}/healthz", BodyContains: "{host}", Retries: ptr(0)}, true, []string{`body does not contain "h1"`}},
		{"body_regex", Spec{URL: "{base}/status?h={host}", BodyRegex: `"version":"v\d+"`}, false, nil},
		{"body_regex fails", Spec{URL: "{base}/healthz", BodyRegex: `^fine$`, Retries: ptr(0)}, true, []string{"body does not match /^fine$/"}},
		{"json_value", Spec{URL: "{base}/status?h={host}", JSONField: "host", JSONValue: "{host}"}, false, nil},
		{"json array and bool", Spec{URL: "{base}/status", JSONField: "checks.0.up", JSONValue: "true"}, false, nil},
		{"json mismatch", Spec{URL: "{base}/status", JSONField: "version", JSONValue: "v3", Retries: ptr(0)}, true, []string{`version is "v2", want "v3"`}},
		{"json missing", Spec{URL: "{base}/status", JSONField: "checks.5.up", Retries: ptr(0)}, true, []string{"checks.5.up is missing"}},
		{"not json", Spec{URL: "{base}/healthz", JSONField: "status", Retries: ptr(0)}, true, []string{"body is not JSON"}},
		{"max_latency", Spec{URL: "{base}/slow", MaxLatency: 50 * time.Millisecond, Retries: ptr(0)}, true, []string{"max_latency 50ms"}},
		{"host header and headers", Spec{URL: "http://{address}:" + strings.Split(addr, ":")[1] + "/vhost", HostHeader: "api.example.org", Headers: map[string]string{"X-Deploy": "{host}"}}, false, nil},
		{"wrong vhost", Spec{URL: "{base}/vhost", Retries: ptr(0)}, true, []string{"status 404", "wrong vhost"}},
		{"redirect not followed", Spec{URL: "{base}/old", ExpectStatus: 301}, false, []string{"301 in"}},
		{"connection refused", Spec{URL: "http://" + closedPort(t) + "/", Retries: ptr(1)}, true, []string{"connection refused", "(2 attempts)"}},
		{"bad template", Spec{URL: "{base}/{nope}"}, true, []string{"unknown placeholder {nope}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Name, s.Type = "http", KindHTTP
			s.Timeout = 5 * time.Second
			c := mustCheck(t, s)
			r := c.Run(context.Background(), target, nil)
			if (r.Err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; evidence %s", r.Err, tt.wantErr, r.Evidence)
			}
			if tt.wantErr && tt.name != "bad template" && !errors.Is(r.Err, ErrFailed) {
				t.Errorf("err = %v, want ErrFailed", r.Err)
			}
			said := r.Evidence + " | " + fmt.Sprint(r.Err)
			for _, s := range tt.saw {
				if !strings.Contains(said, s) {
					t.Errorf("evidence does not say %q:\n%s", s, said)
				}
			}
		})
	}
}

// TestHTTPCheckHidesSecrets: a password in the URL and header values are
// never in the evidence.
func TestHTTPCheckHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://deploy:hunter2@", 1)
	c := mustCheck(t, Spec{Name: "h", Type: KindHTTP, URL: u + "/", Headers: map[string]string{"Authorization": "Bearer s3cret"}, Retries: ptr(0)})
	r := c.Run(context.Background(), Target{Host: "h"}, nil)
	if r.Err == nil {
		t.Fatal("403 passed")
	}
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(r.Err.Error(), secret) || strings.Contains(r.Evidence, secret) {
			t.Errorf("evidence shows %q: %v", secret, r.Err)
		}
	}
}
