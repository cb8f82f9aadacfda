package checks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Queries as users write them: label braces doubled for hosttmpl.
const (
	shareQuery    = `sum(rate(http_requests_total{{host=~"{host}",code=~"5.."}[5s])) / sum(rate(http_requests_total{{host=~"{host}"}[5s]))`
	requestsQuery = `sum(increase(http_requests_total{{host=~"{host}"}[5s]))`
)

type metricCase struct {
	name         string
	spec         Spec
	host         string
	peers        []string
	wantErr      bool
	inconclusive bool // the failure wraps ErrInconclusive
	saw          []string
	sawRe        string // a regexp for values that vary with scrape timing
}

func runMetricCases(t *testing.T, url string, tests []metricCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Name, s.Type, s.Prometheus = "metric", KindMetric, url
			if s.Interval == 0 {
				s.Interval = 300 * time.Millisecond
			}
			if s.Count == 0 {
				s.Count = 2
			}
			s.Timeout = 20 * time.Second
			c := mustCheck(t, s)
			r := c.Run(context.Background(), Target{Host: tt.host, Address: "127.0.0.1", Peers: tt.peers}, nil)
			if (r.Err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; evidence %s", r.Err, tt.wantErr, r.Evidence)
			}
			if tt.wantErr && !errors.Is(r.Err, ErrFailed) {
				t.Errorf("err = %v, want ErrFailed", r.Err)
			}
			if errors.Is(r.Err, ErrInconclusive) != tt.inconclusive {
				t.Errorf("err = %v, want ErrInconclusive: %v", r.Err, tt.inconclusive)
			}
			if len(r.Measurements) == 0 {
				t.Error("no measurements in the result")
			}
			said := r.Evidence + " | " + fmt.Sprint(r.Err)
			for _, s := range tt.saw {
				if !strings.Contains(said, s) {
					t.Errorf("evidence does not say %q:\n%s", s, said)
				}
			}
			if tt.sawRe != "" && !regexp.MustCompile(tt.sawRe).MatchString(said) {
				t.Errorf("evidence does not match /%s/:\n%s", tt.sawRe, said)
			}
		})
	}
}

// TestMetricAPI asks a real Prometheus about real scrapes.
func TestMetricAPI(t *testing.T) {
	p := needPrometheus(t)
	runMetricCases(t, p.url, []metricCase{
		{name: "healthy host passes", host: "h1", spec: Spec{Query: shareQuery, Max: f64(0.05)},
			saw: []string{`query sum(rate(http_requests_total{host=~"h1",code=~"5.."}[5s]))`, "2 measurements: 2 pass", "within [-, 0.05]"}},
		{name: "5xx share above max fails", host: "h3", spec: Spec{Query: shareQuery, Max: f64(0.05)}, wantErr: true,
			saw: []string{"1 failed (failure_limit 0) of 1 measurements", `host=~"h3"`}, sawRe: `fail: 0\.[23]\d* > max 0\.05`},
		{name: "failure_limit tolerates", host: "h1", spec: Spec{Query: shareQuery, Max: f64(0.05), Min: f64(0.001), FailureLimit: 1}},
		{name: "below min fails", host: "h1", spec: Spec{Query: `sum(rate(http_requests_total{{host="{host}"}[5s]))`, Min: f64(1000)}, wantErr: true,
			saw: []string{"< min 1000"}},
		{name: "idle host is no data (NaN)", host: "h4", spec: Spec{Query: shareQuery, Max: f64(0.05)}, wantErr: true, inconclusive: true,
			saw: []string{"1 inconclusive (inconclusive_limit 0)", "no data"}},
		{name: "unknown host is no data (empty)", host: "h9", spec: Spec{Query: shareQuery, Max: f64(0.05), InconclusiveLimit: 5}, wantErr: true, inconclusive: true,
			saw: []string{"none of 2 measurements passed", "no data"}},
		{name: "too few requests", host: "h4", spec: Spec{Query: shareQuery, RequestsQuery: requestsQuery, Max: f64(0.05)}, wantErr: true, inconclusive: true,
			saw: []string{"too few requests: 0 < min_requests 20"}},
		{name: "enough requests", host: "h1", spec: Spec{Query: shareQuery, RequestsQuery: requestsQuery, MinRequests: 100, Max: f64(0.05)}},
		{name: "many series is an error", host: "h1", spec: Spec{Query: `http_requests_total`, Max: f64(1), ConsecutiveErrorLimit: ptr(1)}, wantErr: true, inconclusive: true,
			saw: []string{"2 errors in a row (consecutive_error_limit 1)", "series, want one (aggregate it"}},
		{name: "bad query is an error", host: "h1", spec: Spec{Query: `sum(rate(`, Max: f64(1)}, wantErr: true, inconclusive: true,
			saw: []string{"bad_data"}},
	})
}

// TestMetricRelative judges hosts against their pool on a real Prometheus.
func TestMetricRelative(t *testing.T) {
	p := needPrometheus(t)
	rel := func(inc, ratio *float64) Spec {
		return Spec{Mode: ModeRelative, Query: shareQuery, RequestsQuery: requestsQuery, MaxIncrease: inc, MaxIncreaseRatio: ratio}
	}
	runMetricCases(t, p.url, []metricCase{
		{name: "bad host fails against its pool", host: "h3", peers: []string{"h1", "h2"}, spec: rel(f64(0.05), nil), wantErr: true,
			saw: []string{"worse by more than +0.05", "against peers [h1 h2]"}, sawRe: `h3 0\.[23]\d* vs peers 0\.0\d*: worse`},
		{name: "good host passes against a pool with a bad host", host: "h1", peers: []string{"h2", "h3"}, spec: rel(f64(0.05), f64(2)),
			saw: []string{"2 pass", "not worse by more than +0.05 and ×2"}},
		{name: "twice as bad but by little: both bounds must be exceeded", host: "h2", peers: []string{"h1"}, spec: rel(f64(0.05), f64(1.2))},
		{name: "ratio alone catches it", host: "h2", peers: []string{"h1"}, spec: rel(nil, f64(1.2)), wantErr: true,
			saw: []string{"worse by more than ×1.2"}},
		{name: "idle host does not decide", host: "h4", peers: []string{"h1", "h2"}, spec: rel(f64(0.05), nil), wantErr: true, inconclusive: true,
			saw: []string{"too few requests on h4"}},
		{name: "idle peers do not decide", host: "h1", peers: []string{"h4"}, spec: rel(f64(0.05), nil), wantErr: true, inconclusive: true,
			saw: []string{"too few requests on the peers"}},
		{name: "no peers", host: "h1", spec: rel(f64(0.05), nil), wantErr: true, inconclusive: true,
			saw: []string{"no peers to compare with"}},
	})
}

func TestPromAlternation(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"h2", "h3"}, "h2|h3"},
		{[]string{"rb1001.eqiad.wmnet"}, `rb1001\\.eqiad\\.wmnet`},
	}
	for _, tt := range tests {
		if got := promAlternation(tt.in); got != tt.want {
			t.Errorf("promAlternation(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
