package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedMetrics serves the exampleapp's /metrics format, one scripted
// scrape after another (the last repeats): each step is the 200 and 500
// counts, or a status to fail with.
type scriptedMetrics struct {
	mu    sync.Mutex
	steps []scrapeStep
	n     int
}

type scrapeStep struct {
	ok, errs int
	status   int    // non-zero: answer this status instead
	raw      string // non-empty: answer this body instead
}

func (s *scriptedMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.mu.Unlock()
	switch {
	case st.status != 0:
		http.Error(w, "metrics unavailable", st.status)
	case st.raw != "":
		fmt.Fprint(w, st.raw)
	default:
		fmt.Fprintf(w, "# HELP app_info Version and mode of the running exampleapp.\n# TYPE app_info gauge\n"+
			"app_info{version=\"v2\",mode=\"good\"} 1\n"+
			"# HELP http_requests_total HTTP requests answered, by status code (not /healthz or /metrics).\n# TYPE http_requests_total counter\n"+
			"http_requests_total{code=\"200\"} %d\nhttp_requests_total{code=\"500\"} %d\n", st.ok, st.errs)
	}
}

func TestMetricScrape(t *testing.T) {
	tests := []struct {
		name         string
		steps        []scrapeStep
		spec         Spec
		wantErr      bool
		inconclusive bool
		saw          []string
	}{
		{"healthy", []scrapeStep{{ok: 100}, {ok: 200, errs: 1}, {ok: 300, errs: 1}}, Spec{}, false, false,
			[]string{`http_requests_total{code=~"5.."} share 0.00990099 (1 of 101 requests in 100ms) <= max_error_ratio 0.02`, "2 pass"}},
		{"5xx share too high", []scrapeStep{{ok: 100}, {ok: 170, errs: 30}}, Spec{}, true, false,
			[]string{"share 0.3 (30 of 100 requests in 100ms) > max_error_ratio 0.02"}},
		{"counter reset by the restart is tolerated", []scrapeStep{{ok: 5000, errs: 10}, {ok: 50}, {ok: 100}}, Spec{}, false, false,
			[]string{"(0 of 50 requests in 100ms) (2 series reset: counted from zero)", "2 pass"}},
		{"a new 500 series counts whole", []scrapeStep{{raw: "http_requests_total{code=\"200\"} 100\n"}, {ok: 150, errs: 25}}, Spec{}, true, false,
			[]string{"25 of 75 requests"}},
		{"too few requests", []scrapeStep{{ok: 100}, {ok: 105}}, Spec{}, true, true,
			[]string{"too few requests: 5 < min_requests 20"}},
		{"min_requests lowered", []scrapeStep{{ok: 100}, {ok: 105}, {ok: 110}}, Spec{MinRequests: 5}, false, false, nil},
		{"error_codes and code_label", []scrapeStep{{raw: "req_total{status=\"200\"} 0\nreq_total{status=\"404\"} 0\n"}, {raw: "req_total{status=\"200\"} 90\nreq_total{status=\"404\"} 10\n"}},
			Spec{Counter: "req_total", CodeLabel: "status", ErrorCodes: "4..|5..", MaxErrorRatio: f64(0.05)}, true, false,
			[]string{`req_total{status=~"4..|5.."} share 0.1`}},
		{"no such counter", []scrapeStep{{ok: 1}}, Spec{Counter: "nope_total"}, true, true,
			[]string{"no nope_total series"}},
		{"metrics failing", []scrapeStep{{status: 500}}, Spec{ConsecutiveErrorLimit: ptr(1)}, true, true,
			[]string{"HTTP 500", "2 errors in a row"}},
		{"not the text format", []scrapeStep{{raw: "<html>oops</html>"}}, Spec{ConsecutiveErrorLimit: ptr(0)}, true, true,
			[]string{"parse metrics"}},
		{"a gauge is not a counter", []scrapeStep{{raw: "# TYPE http_requests_total gauge\nhttp_requests_total 3\n"}}, Spec{ConsecutiveErrorLimit: ptr(0)}, true, true,
			[]string{"is a GAUGE, not a counter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&scriptedMetrics{steps: tt.steps})
			defer srv.Close()
			s := tt.spec
			s.Name, s.Type, s.Mode = "scrape", KindMetric, ModeScrape
			s.URL = srv.URL + "/metrics"
			s.Interval, s.Count, s.Timeout = 100*time.Millisecond, 2, 5*time.Second
			if s.MaxErrorRatio == nil {
				s.MaxErrorRatio = f64(0.02)
			}
			c := mustCheck(t, s)
			r := c.Run(context.Background(), Target{Host: "h1", Address: "127.0.0.1"}, nil)
			if (r.Err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; evidence %s", r.Err, tt.wantErr, r.Evidence)
			}
			if tt.wantErr && !errors.Is(r.Err, ErrFailed) {
				t.Errorf("err = %v, want ErrFailed", r.Err)
			}
			if errors.Is(r.Err, ErrInconclusive) != tt.inconclusive {
				t.Errorf("err = %v, want ErrInconclusive: %v", r.Err, tt.inconclusive)
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

// TestMetricScrapeDefaultURL reads {address}:{port}/metrics by default.
func TestMetricScrapeDefaultURL(t *testing.T) {
	srv := httptest.NewServer(&scriptedMetrics{steps: []scrapeStep{{ok: 0}, {ok: 100}}})
	defer srv.Close()
	var port int
	fmt.Sscanf(srv.URL[strings.LastIndex(srv.URL, ":")+1:], "%d", &port)
	c := mustCheck(t, Spec{Name: "s", Type: KindMetric, Mode: ModeScrape, MaxErrorRatio: f64(0), Interval: 50 * time.Millisecond, Count: 1, Timeout: 5 * time.Second})
	r := c.Run(context.Background(), Target{Host: "h1", Address: "127.0.0.1", Port: port}, nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !strings.Contains(r.Evidence, srv.URL+"/metrics") {
		t.Errorf("evidence %q does not name %s/metrics", r.Evidence, srv.URL)
	}
}
