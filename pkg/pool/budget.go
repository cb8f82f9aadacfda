package pool

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Budget is the depool budget (min_pooled): how many hosts of a pool must
// stay pooled and up, as a count or a percent of the pool.
type Budget struct {
	N       int  // the count, or the percent when Percent is set
	Percent bool // N is a percent of the pool, rounded up
}

// ParseBudget parses "2" or "50%".
func ParseBudget(s string) (Budget, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	switch {
	case err != nil:
		return Budget{}, fmt.Errorf("min_pooled %q: want a count (2) or a percent (50%%)", s)
	case n < 0:
		return Budget{}, fmt.Errorf("min_pooled %q: must not be negative", s)
	case pct && n > 100:
		return Budget{}, fmt.Errorf("min_pooled %q: a percent cannot exceed 100%%", s)
	}
	return Budget{N: n, Percent: pct}, nil
}

// String returns the form ParseBudget reads.
func (b Budget) String() string {
	if b.Percent {
		return strconv.Itoa(b.N) + "%"
	}
	return strconv.Itoa(b.N)
}

// Need returns how many hosts of a pool of total must stay serving.
func (b Budget) Need(total int) int {
	if b.Percent {
		return (total*b.N + 99) / 100
	}
	return b.N
}

// HostState is one row of a whole-pool listing: a host and its state, or
// the error reading it.
type HostState struct {
	Host  Host
	State State
	Err   error
}

// CheckBudget decides whether the hosts named in out may leave the pool now,
// given the state of every host of the pool. Hosts that are not serving
// (depooled by anyone, down on the LB, or whose state could not be read)
// count as already out. It returns nil or an error wrapping ErrBudget that
// names the hosts already out.
func CheckBudget(rows []HostState, out []string, b Budget) error {
	var serving, leaving int
	var already []string
	for _, r := range rows {
		switch {
		case r.Err == nil && r.State.Serving():
			serving++
			if slices.Contains(out, r.Host.Name) {
				leaving++
			}
		default:
			already = append(already, r.Host.Name+" ("+outReason(r)+")")
		}
	}
	need := b.Need(len(rows))
	if serving-leaving >= need {
		return nil
	}
	if len(already) == 0 {
		already = []string{"none"}
	}
	return fmt.Errorf("%w: depooling %s would leave %d of %d hosts serving, min_pooled %s needs %d; already out: %s",
		ErrBudget, strings.Join(out, " "), serving-leaving, len(rows), b, need, strings.Join(already, ", "))
}

// outReason says briefly why a host does not count as serving.
func outReason(r HostState) string {
	switch {
	case r.Err != nil:
		return "state unknown: " + r.Err.Error()
	case r.State.Pooled != PooledYes:
		return "pooled=" + r.State.Pooled.String()
	default:
		return "lb " + r.State.LB
	}
}
