package checks

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Verdict is the outcome of one measurement or of a whole check.
type Verdict int

// Verdicts. The zero value decides nothing: a check passes only by saying so.
const (
	Inconclusive Verdict = iota // no data, too few requests, or an error getting data
	Pass
	Fail
	Skipped // not run: an earlier port check of the stage failed
)

var verdictNames = [...]string{Inconclusive: "inconclusive", Pass: "pass", Fail: "fail", Skipped: "skipped"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// MarshalText renders the verdict by name (for --output json).
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a verdict name.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if n == string(b) {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("unknown verdict %q", b)
}

// Measurement is one look at a metric.
type Measurement struct {
	At      time.Time `json:"at"`
	Verdict Verdict   `json:"verdict"`
	// Error marks an inconclusive measurement that could not get data at
	// all (unreachable, bad query); these count toward
	// consecutive_error_limit rather than inconclusive_limit.
	Error  bool    `json:"error,omitempty"`
	Value  float64 `json:"-"`      // NaN when there was none
	Detail string  `json:"detail"` // what it saw: "0.031 > max 0.01"
}

// MarshalJSON renders m with its value, or null when there was none.
func (m Measurement) MarshalJSON() ([]byte, error) {
	type plain Measurement // without this method
	out := struct {
		plain
		Value *float64 `json:"value"`
	}{plain: plain(m)}
	if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
		out.Value = &m.Value
	}
	return json.Marshal(out)
}

// limits are the Argo-style limits of a metric check.
type limits struct {
	failure, inconclusive, consecutiveError int
}

func limitsOf(d Spec) limits {
	return limits{failure: d.FailureLimit, inconclusive: d.InconclusiveLimit, consecutiveError: *d.ConsecutiveErrorLimit}
}

// analysis turns measurements into a check's verdict.
type analysis struct {
	lim           limits
	ms            []Measurement
	pass, fail    int
	inconclusive  int
	errors, consE int
}

// add records m and reports whether the verdict is already decided (a
// limit is exceeded), so that the check can stop measuring.
func (a *analysis) add(m Measurement) (decided bool) {
	a.ms = append(a.ms, m)
	switch {
	case m.Verdict == Pass:
		a.pass++
		a.consE = 0
	case m.Verdict == Fail:
		a.fail++
		a.consE = 0
	case m.Error:
		a.errors++
		a.consE++
	default:
		a.inconclusive++
		a.consE = 0
	}
	return a.exceeded() != ""
}

// exceeded names the limit the measurements so far exceed, or "".
func (a *analysis) exceeded() string {
	switch {
	case a.fail > a.lim.failure:
		return fmt.Sprintf("%d failed (failure_limit %d)", a.fail, a.lim.failure)
	case a.consE > a.lim.consecutiveError:
		return fmt.Sprintf("%d errors in a row (consecutive_error_limit %d)", a.consE, a.lim.consecutiveError)
	case a.inconclusive > a.lim.inconclusive:
		return fmt.Sprintf("%d inconclusive (inconclusive_limit %d)", a.inconclusive, a.lim.inconclusive)
	}
	return ""
}

// verdict returns the check's verdict from the measurements taken. It is
// Fail when a limit is exceeded, or when no measurement passed (safe by
// default: a check that saw nothing does not vouch for a release).
func (a *analysis) verdict() (Verdict, error) {
	switch why := a.exceeded(); {
	case why != "" && a.fail > a.lim.failure:
		return Fail, fmt.Errorf("%w: %s of %d measurements:\n%s", ErrFailed, why, len(a.ms), a.describe())
	case why != "":
		return Fail, fmt.Errorf("%w: %w: %s of %d measurements:\n%s", ErrFailed, ErrInconclusive, why, len(a.ms), a.describe())
	case a.pass == 0:
		return Fail, fmt.Errorf("%w: %w: none of %d measurements passed:\n%s", ErrFailed, ErrInconclusive, len(a.ms), a.describe())
	}
	return Pass, nil
}

// shownMeasurements is how many of the last measurements evidence lists.
const shownMeasurements = 10

// describe lists the measurements, one per line (the last ten of many).
func (a *analysis) describe() string {
	var b strings.Builder
	first := max(0, len(a.ms)-shownMeasurements)
	if first > 0 {
		fmt.Fprintf(&b, "  (%d earlier measurements not shown)\n", first)
	}
	for i := first; i < len(a.ms); i++ {
		m := a.ms[i]
		if i > first {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %d. %s: %s", i+1, m.Verdict, m.Detail)
		if m.Error {
			b.WriteString(" (error)")
		}
	}
	return b.String()
}

// summary is the evidence of a passing analysis.
func (a *analysis) summary() string {
	return fmt.Sprintf("%d measurements: %d pass, %d fail, %d inconclusive, %d errors:\n%s",
		len(a.ms), a.pass, a.fail, a.inconclusive, a.errors, a.describe())
}

// judge compares v with optional bounds. NaN is no data.
func judge(v float64, lo, hi *float64) (Verdict, string) {
	switch {
	case math.IsNaN(v):
		return Inconclusive, "no data (NaN)"
	case lo != nil && v < *lo:
		return Fail, fmt.Sprintf("%s < min %s", fmtNum(v), fmtNum(*lo))
	case hi != nil && v > *hi:
		return Fail, fmt.Sprintf("%s > max %s", fmtNum(v), fmtNum(*hi))
	}
	return Pass, fmt.Sprintf("%s within [%s, %s]", fmtNum(v), fmtPtr(lo), fmtPtr(hi))
}
