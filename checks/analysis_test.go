package checks

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestAnalysis(t *testing.T) {
	const (
		P = Pass
		F = Fail
		I = Inconclusive
		E = Verdict(-1) // an error measurement
	)
	tests := []struct {
		name         string
		lim          limits
		seq          []Verdict
		taken        int // measurements taken before the verdict was decided
		want         Verdict
		inconclusive bool
		msg          string
	}{
		{"all pass", limits{0, 0, 4}, []Verdict{P, P, P}, 3, Pass, false, ""},
		{"one failure fails at once", limits{0, 0, 4}, []Verdict{P, F, P}, 2, Fail, false, "1 failed (failure_limit 0)"},
		{"failure within limit", limits{1, 0, 4}, []Verdict{F, P, P}, 3, Pass, false, ""},
		{"second failure over limit", limits{1, 0, 4}, []Verdict{F, P, F}, 3, Fail, false, "2 failed (failure_limit 1)"},
		{"inconclusive fails by default", limits{0, 0, 4}, []Verdict{P, I}, 2, Fail, true, "1 inconclusive (inconclusive_limit 0)"},
		{"inconclusive within limit", limits{0, 1, 4}, []Verdict{I, P, P}, 3, Pass, false, ""},
		{"errors within limit", limits{0, 0, 2}, []Verdict{E, E, P}, 3, Pass, false, ""},
		{"errors in a row over limit", limits{0, 0, 2}, []Verdict{E, E, E, P}, 3, Fail, true, "3 errors in a row (consecutive_error_limit 2)"},
		{"errors not in a row", limits{0, 0, 1}, []Verdict{E, P, E, P}, 4, Pass, false, ""},
		{"nothing passed", limits{0, 5, 4}, []Verdict{I, E, I}, 3, Fail, true, "none of 3 measurements passed"},
		{"only errors", limits{0, 0, 4}, []Verdict{E, E}, 2, Fail, true, "none of 2 measurements passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analysis{lim: tt.lim}
			taken := 0
			for _, v := range tt.seq {
				m := Measurement{Verdict: v, Value: math.NaN(), Detail: "saw " + v.String()}
				if v == E {
					m = Measurement{Verdict: Inconclusive, Error: true, Detail: "connection refused"}
				}
				taken++
				if a.add(m) {
					break
				}
			}
			if taken != tt.taken {
				t.Errorf("took %d measurements, want %d", taken, tt.taken)
			}
			got, err := a.verdict()
			if got != tt.want {
				t.Fatalf("verdict = %v (%v), want %v", got, err, tt.want)
			}
			if got == Pass {
				if err != nil {
					t.Fatalf("pass with error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrFailed) {
				t.Errorf("err = %v, want ErrFailed", err)
			}
			if errors.Is(err, ErrInconclusive) != tt.inconclusive {
				t.Errorf("errors.Is(err, ErrInconclusive) = %v, want %v", !tt.inconclusive, tt.inconclusive)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to say %q", err, tt.msg)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name   string
		v      float64
		lo, hi *float64
		want   Verdict
		detail string
	}{
		{"within", 0.5, f64(0), f64(1), Pass, "0.5 within [0, 1]"},
		{"above", 0.031, nil, f64(0.01), Fail, "0.031 > max 0.01"},
		{"below", 3, f64(10), nil, Fail, "3 < min 10"},
		{"nan", math.NaN(), nil, f64(1), Inconclusive, "no data"},
		{"inf", math.Inf(1), nil, f64(1), Fail, "+Inf > max 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, d := judge(tt.v, tt.lo, tt.hi)
			if v != tt.want || !strings.Contains(d, tt.detail) {
				t.Errorf("judge(%v) = %v %q, want %v %q", tt.v, v, d, tt.want, tt.detail)
			}
		})
	}
}

func TestWorse(t *testing.T) {
	tests := []struct {
		name       string
		v, base    float64
		inc, ratio *float64
		want       bool
	}{
		{"difference over", 0.10, 0.01, f64(0.05), nil, true},
		{"difference within", 0.05, 0.01, f64(0.05), nil, false},
		{"ratio over", 0.03, 0.01, nil, f64(2), true},
		{"ratio within", 0.02, 0.01, nil, f64(2), false},
		{"ratio over from zero", 0.01, 0, nil, f64(2), true},
		{"both: only ratio over", 0.003, 0.001, f64(0.02), f64(2), false},
		{"both: only difference over", 0.50, 0.40, f64(0.02), f64(2), false},
		{"both over", 0.30, 0.01, f64(0.02), f64(2), true},
		{"better", 0.001, 0.01, f64(0), f64(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := worse(tt.v, tt.base, tt.inc, tt.ratio); got != tt.want {
				t.Errorf("worse(%v, %v) = %v, want %v", tt.v, tt.base, got, tt.want)
			}
		})
	}
}
