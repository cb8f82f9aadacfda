package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// every3rd500 answers 500 on every third request, like exampleapp's bad-5xx.
func every3rd500() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
}

func TestRun(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	notFound := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) })
	tests := []struct {
		name    string
		handler http.Handler // nil: nothing listens
		opts    Options
		check   func(t *testing.T, r Report)
	}{
		{
			name:    "workers up to the request cap, 5xx counted by kind",
			handler: every3rd500(),
			opts:    Options{Workers: 3, MaxRequests: 30, Duration: 10 * time.Second},
			check: func(t *testing.T, r Report) {
				want := Report{Requests: 30, Successes: 20, Failures: 10,
					FailuresByKind: map[string]int64{"status 500": 10}, StatusCounts: map[int]int64{200: 20, 500: 10}}
				got := Report{Requests: r.Requests, Successes: r.Successes, Failures: r.Failures,
					FailuresByKind: r.FailuresByKind, StatusCounts: r.StatusCounts}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got %+v, want %+v", got, want)
				}
			},
		},
		{
			name:    "constant rate stops after the duration",
			handler: every3rd500(),
			opts:    Options{Rate: 100, Duration: 300 * time.Millisecond},
			check: func(t *testing.T, r Report) {
				// Ticks come at 0, 10ms, ... 300ms: never more than 31.
				if r.Requests < 1 || r.Requests+r.Dropped > 31 {
					t.Fatalf("%d requests and %d dropped in 300ms at 100/s", r.Requests, r.Dropped)
				}
			},
		},
		{
			name:    "constant rate stops at the request cap",
			handler: notFound,
			opts:    Options{Rate: 1000, MaxRequests: 5, Duration: time.Minute},
			check: func(t *testing.T, r Report) {
				if r.Requests != 5 || r.Failures != 0 || r.StatusCounts[404] != 5 {
					t.Fatalf("got %+v, want 5 requests answered 404, no failures", r)
				}
			},
		},
		{
			name:    "connection refused",
			handler: nil,
			opts:    Options{Workers: 1, MaxRequests: 3},
			check: func(t *testing.T, r Report) {
				if r.Failures != 3 || r.FailuresByKind["connection refused"] != 3 {
					t.Fatalf("got %+v, want 3 refused", r)
				}
			},
		},
		{
			name:    "timeout",
			handler: slow,
			opts:    Options{Workers: 2, MaxRequests: 2, Timeout: 100 * time.Millisecond},
			check: func(t *testing.T, r Report) {
				if r.Failures != 2 || r.FailuresByKind["timeout"] != 2 {
					t.Fatalf("got %+v, want 2 timeouts", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				opts.URL = srv.URL + "/"
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				opts.URL = "http://" + ln.Addr().String() + "/"
				ln.Close()
			}
			rep, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rep)
			if rep.Requests > 0 && (rep.Latency.Max < rep.Latency.Min || rep.Latency.P99 > rep.Latency.Max) {
				t.Errorf("latency summary out of order: %+v", rep.Latency)
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rep, err := Run(ctx, Options{URL: srv.URL, Workers: 4, Duration: time.Minute, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failures != 0 || rep.Requests != 0 {
		t.Fatalf("requests cut short by the caller were counted: %+v", rep)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{name: "ok", opts: Options{URL: "http://127.0.0.1:18080/"}},
		{name: "every problem at once", opts: Options{URL: "ftp://x", Rate: -1, Workers: -2, Duration: 2 * time.Hour, MaxRequests: -1, Timeout: -time.Second},
			wantErr: []string{"url", "rate", "workers", "duration", "max requests", "timeout"}},
		{name: "no host", opts: Options{URL: "http:///x"}, wantErr: []string{"url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{name: "empty", in: nil, want: Latency{}},
		{name: "one", in: []time.Duration{5 * ms}, want: Latency{Min: 5 * ms, Mean: 5 * ms, P50: 5 * ms, P90: 5 * ms, P99: 5 * ms, Max: 5 * ms}},
		{name: "ten unsorted", in: []time.Duration{10 * ms, 1 * ms, 9 * ms, 2 * ms, 8 * ms, 3 * ms, 7 * ms, 4 * ms, 6 * ms, 5 * ms},
			want: Latency{Min: 1 * ms, Mean: 5500 * time.Microsecond, P50: 5 * ms, P90: 9 * ms, P99: 10 * ms, Max: 10 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReportString(t *testing.T) {
	r := Report{Requests: 10, Failures: 2, FailuresByKind: map[string]int64{"timeout": 1, "status 503": 1}, Elapsed: time.Second}
	s := r.String()
	for _, want := range []string{"10 requests", "2 failures (20.00%)", "status 503: 1, timeout: 1"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}

func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	for b.Loop() {
		if _, err := Run(context.Background(), Options{URL: srv.URL, Workers: 4, MaxRequests: 100}); err != nil {
			b.Fatal(err)
		}
	}
}
