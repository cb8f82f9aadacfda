package pool

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBudget(t *testing.T) {
	tests := []struct {
		in   string
		want Budget
		bad  bool
	}{
		{in: "0", want: Budget{N: 0}},
		{in: "2", want: Budget{N: 2}},
		{in: "50%", want: Budget{N: 50, Percent: true}},
		{in: " 100% ", want: Budget{N: 100, Percent: true}},
		{in: "101%", bad: true},
		{in: "-1", bad: true},
		{in: "half", bad: true},
		{in: "", bad: true},
		{in: "2.5", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBudget(tt.in)
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("ParseBudget(%q) = %+v, %v", tt.in, got, err)
			}
			if err == nil && got.String() != strings.TrimSpace(tt.in) {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestBudgetNeed(t *testing.T) {
	tests := []struct {
		b     string
		total int
		want  int
	}{
		{"50%", 1, 1}, {"50%", 2, 1}, {"50%", 3, 2}, {"50%", 4, 2}, {"50%", 0, 0},
		{"34%", 3, 2}, {"100%", 5, 5}, {"0%", 5, 0}, {"2", 5, 2}, {"7", 5, 7},
	}
	for _, tt := range tests {
		b, _ := ParseBudget(tt.b)
		if got := b.Need(tt.total); got != tt.want {
			t.Errorf("%s of %d = %d, want %d", tt.b, tt.total, got, tt.want)
		}
	}
}

func rows(states ...State) []HostState {
	var r []HostState
	for i, s := range states {
		r = append(r, HostState{Host: Host{Name: "h" + string(rune('1'+i))}, State: s})
	}
	return r
}

func TestCheckBudget(t *testing.T) {
	up := State{Pooled: PooledYes, Weight: 1, LB: "UP", Up: true}
	noLB := State{Pooled: PooledYes, Weight: 1}
	down := State{Pooled: PooledYes, Weight: 1, LB: "DOWN"}
	out := State{Pooled: PooledNo, Weight: 1}
	inactive := State{Pooled: PooledInactive}
	tests := []struct {
		name    string
		rows    []HostState
		out     []string
		budget  string
		refused bool
		mention []string
	}{
		{name: "one of four at 50%", rows: rows(up, up, up, up), out: []string{"h1"}, budget: "50%"},
		{name: "three of four at 50%", rows: rows(up, up, up, up), out: []string{"h1", "h2", "h3"}, budget: "50%",
			refused: true, mention: []string{"depooling h1 h2 h3", "leave 1 of 4", "needs 2", "already out: none"}},
		{name: "others out count", rows: rows(up, out, down, up), out: []string{"h1"}, budget: "50%",
			refused: true, mention: []string{"h2 (pooled=no)", "h3 (lb DOWN)"}},
		{name: "host without LB status counts", rows: rows(noLB, noLB, noLB), out: []string{"h1"}, budget: "2"},
		{name: "inactive is out", rows: rows(up, inactive, up), out: []string{"h1"}, budget: "2",
			refused: true, mention: []string{"h2 (pooled=inactive)"}},
		{name: "host already out leaves nothing", rows: rows(out, up, up), out: []string{"h1"}, budget: "2"},
		{name: "unreadable host counts out", rows: func() []HostState {
			r := rows(up, up, up)
			r[2] = HostState{Host: Host{Name: "h3"}, Err: errors.New("etcd down")}
			return r
		}(), out: []string{"h1"}, budget: "2", refused: true, mention: []string{"h3 (state unknown: etcd down)"}},
		{name: "zero budget allows all", rows: rows(up, up), out: []string{"h1", "h2"}, budget: "0"},
		{name: "single host at default", rows: rows(up), out: []string{"h1"}, budget: DefaultMinPooled, refused: true},
		{name: "count larger than pool", rows: rows(up, up), out: nil, budget: "3", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBudget(tt.budget)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckBudget(tt.rows, tt.out, b)
			if got := errors.Is(err, ErrBudget); got != tt.refused {
				t.Fatalf("CheckBudget = %v, refused %v", err, tt.refused)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not mention %q", err, m)
				}
			}
		})
	}
}
