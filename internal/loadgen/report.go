package loadgen

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Report is what one run saw.
type Report struct {
	Requests       int64            // completed requests (successes + failures)
	Successes      int64            // status < 500
	Failures       int64            // transport errors and status >= 500
	FailuresByKind map[string]int64 // "status 503", "timeout", "connection refused", ...
	StatusCounts   map[int]int64    // every status code received
	Dropped        int64            // rate ticks that found every worker busy and the backlog full
	Elapsed        time.Duration    // from the first request to the last answer
	Latency        Latency          // of completed requests
}

// Latency summarizes request durations.
type Latency struct {
	Min, Mean, P50, P90, P99, Max time.Duration
}

// FailureRatio is Failures / Requests (0 without requests).
func (r Report) FailureRatio() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Failures) / float64(r.Requests)
}

// String is a one-line summary: requests, failures by kind, latency.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests in %s, %d failures (%.2f%%)", r.Requests, r.Elapsed.Round(time.Millisecond),
		r.Failures, 100*r.FailureRatio())
	if len(r.FailuresByKind) > 0 {
		kinds := make([]string, 0, len(r.FailuresByKind))
		for k, n := range r.FailuresByKind {
			kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
		}
		sort.Strings(kinds)
		b.WriteString(" [" + strings.Join(kinds, ", ") + "]")
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, ", %d ticks dropped (workers saturated)", r.Dropped)
	}
	l := r.Latency
	fmt.Fprintf(&b, "; latency min %s p50 %s p90 %s p99 %s max %s", l.Min, l.P50, l.P90, l.P99, l.Max)
	return b.String()
}

// summarize computes the latency summary of ds, sorting it in place.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{
		Min:  ds[0],
		Mean: sum / time.Duration(len(ds)),
		P50:  pct(0.50),
		P90:  pct(0.90),
		P99:  pct(0.99),
		Max:  ds[len(ds)-1],
	}
}
