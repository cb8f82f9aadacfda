package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slack is the generous allowance beyond a timeout for a check to return.
const slack = 2 * time.Second

// TestNoCheckOutlivesItsTimeout points every kind at something that never
// answers or is not there: an unreachable Prometheus, an HTTP endpoint that
// accepts and never replies, a host whose commands hang. Each check must
// return within its timeout (plus slack), failed, saying timeout.
func TestNoCheckOutlivesItsTimeout(t *testing.T) {
	const timeout = time.Second
	silent := "http://" + silentListener(t)
	closed := "http://" + closedPort(t)
	logFile := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(logFile, []byte("INFO up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spec   Spec
		runner Runner
	}{
		{"http endpoint that never answers", Spec{Type: KindHTTP, URL: silent + "/healthz"}, nil},
		{"http endpoint that never answers, no retries", Spec{Type: KindHTTP, URL: silent + "/healthz", Retries: ptr(0)}, nil},
		{"prometheus that never answers", Spec{Type: KindMetric, Prometheus: silent, Query: "up", Max: f64(1), Interval: 100 * time.Millisecond, Count: 3}, nil},
		{"relative against a prometheus that never answers", Spec{Type: KindMetric, Mode: ModeRelative, Prometheus: silent, Query: "up", RequestsQuery: "up", MaxIncrease: f64(0), Interval: 100 * time.Millisecond, Count: 3}, nil},
		{"scrape of a /metrics that never answers", Spec{Type: KindMetric, Mode: ModeScrape, URL: silent + "/metrics", MaxErrorRatio: f64(0), Interval: 100 * time.Millisecond, Count: 3}, nil},
		{"port that never opens", Spec{Type: KindPort, PortTimeout: timeout}, nil},
		{"port on a host that hangs", Spec{Type: KindPort, From: FromHost, PortTimeout: timeout}, hangingRunner{}},
		{"command that never ends", Spec{Type: KindCommand, Argv: []string{"sleep", "30"}}, localRunner{}},
		{"log on a host that hangs", Spec{Type: KindLog, Path: logFile}, hangingRunner{}},
		{"journal on a host that hangs", Spec{Type: KindJournald, Unit: "app.service"}, hangingRunner{}},
	}
	_, closedPortStr, _ := strings.Cut(strings.TrimPrefix(closed, "http://"), ":")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.spec
			s.Name, s.Timeout = "slow", timeout
			c := mustCheck(t, s)
			target := Target{Host: "h1", Address: "127.0.0.1", Runner: localRunner{}, Peers: []string{"h2"}}
			target.Port = atoi(t, closedPortStr)
			var base *Baseline
			if c.NeedsBaseline() { // taken on a host that answers
				set := &Set{checks: []*Check{c}, log: discardLogger()}
				var err error
				if base, err = set.Prepare(context.Background(), target); err != nil {
					t.Fatal(err)
				}
			}
			if tt.runner != nil {
				target.Runner = tt.runner
			}
			start := time.Now()
			r := c.Run(context.Background(), target, base)
			took := time.Since(start)
			if took > timeout+slack {
				t.Errorf("took %s, timeout %s", took, timeout)
			}
			if r.Verdict != Fail || !errors.Is(r.Err, ErrFailed) || !errors.Is(r.Err, ErrTimeout) {
				t.Fatalf("verdict %v, err %v: want a failure wrapping ErrFailed and ErrTimeout", r.Verdict, r.Err)
			}
			if !strings.Contains(r.Err.Error(), "timeout") {
				t.Errorf("err %q does not say timeout", r.Err)
			}
		})
	}
}

// TestUnreachablePrometheus: with nothing listening, every query fails at
// once, and the check fails on its errors well within its timeout, saying
// what it saw. (A Prometheus that never answers is in the test above.)
func TestUnreachablePrometheus(t *testing.T) {
	closed := "http://" + closedPort(t)
	tests := []struct {
		name string
		spec Spec
		saw  string
	}{
		{"errors in a row", Spec{ConsecutiveErrorLimit: ptr(2), Count: 9}, "3 errors in a row (consecutive_error_limit 2)"},
		{"default limits: no measurement passed", Spec{Count: 3}, "none of 3 measurements passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Name, s.Type, s.Prometheus, s.Query, s.Max = "m", KindMetric, closed, "up", f64(1)
			s.Interval, s.Timeout = 100*time.Millisecond, time.Second
			start := time.Now()
			r := mustCheck(t, s).Run(context.Background(), Target{Host: "h1"}, nil)
			if took := time.Since(start); took > s.Timeout+slack {
				t.Errorf("took %s, timeout %s", took, s.Timeout)
			}
			if !errors.Is(r.Err, ErrFailed) || !errors.Is(r.Err, ErrInconclusive) {
				t.Fatalf("err = %v, want ErrFailed and ErrInconclusive", r.Err)
			}
			for _, want := range []string{tt.saw, "connection refused", closed} {
				if !strings.Contains(r.Err.Error(), want) {
					t.Errorf("err does not say %q:\n%v", want, r.Err)
				}
			}
		})
	}
}

// TestPrepareOutlivesNoTimeout: the snapshot before the stop is bounded too.
func TestPrepareOutlivesNoTimeout(t *testing.T) {
	set, err := New([]Spec{
		{Name: "log", Type: KindLog, Path: "/var/log/app.log", Timeout: 500 * time.Millisecond},
		{Name: "journal", Type: KindJournald, Unit: "app.service", Timeout: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = set.Prepare(context.Background(), Target{Host: "h1", Runner: hangingRunner{}})
	if took := time.Since(start); took > 2*500*time.Millisecond+slack {
		t.Errorf("took %s", took)
	}
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "log: before the stop") || !strings.Contains(err.Error(), "journal: before the stop") {
		t.Fatalf("err = %v, want both checks timed out", err)
	}
}

// TestStageRunsConcurrently: a stage of hanging checks takes about one
// timeout, not their sum.
func TestStageRunsConcurrently(t *testing.T) {
	silent := "http://" + silentListener(t)
	var specs []Spec
	for _, n := range []string{"a", "b", "c", "d"} {
		specs = append(specs, Spec{Name: n, Type: KindHTTP, URL: silent, Timeout: time.Second})
	}
	set, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := set.Run(context.Background(), StageDepooled, Target{Host: "h1"}, nil)
	if took := time.Since(start); took > time.Second+slack {
		t.Errorf("4 checks of 1s took %s", took)
	}
	if err := Failures(res); !errors.Is(err, ErrTimeout) {
		t.Errorf("Failures = %v", err)
	}
}

// TestCancelIsNotAFailedCheck: an abort (the parent context cancelled) ends
// a check at once, as an error that is not ErrFailed.
func TestCancelIsNotAFailedCheck(t *testing.T) {
	silent := "http://" + silentListener(t)
	tests := []Spec{
		{Name: "http", Type: KindHTTP, URL: silent, Timeout: time.Minute},
		{Name: "metric", Type: KindMetric, Prometheus: silent, Query: "up", Max: f64(1), Timeout: time.Minute},
		{Name: "port", Type: KindPort, Port: 1, PortTimeout: time.Minute},
		{Name: "command", Type: KindCommand, Argv: []string{"sleep", "60"}, Timeout: time.Minute},
	}
	for _, s := range tests {
		t.Run(s.Name, func(t *testing.T) {
			c := mustCheck(t, s)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			r := c.Run(ctx, Target{Host: "h1", Address: "127.0.0.1", Runner: localRunner{}}, nil)
			if took := time.Since(start); took > slack {
				t.Errorf("took %s after cancel", took)
			}
			if r.Err == nil || errors.Is(r.Err, ErrFailed) || !errors.Is(r.Err, context.Canceled) && !strings.Contains(r.Err.Error(), "context canceled") {
				t.Fatalf("err = %v, want a cancellation, not ErrFailed", r.Err)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
