package pool

import "fmt"

// Pooled is conftool's pooled value: whether the load balancer may send a
// host traffic.
type Pooled int

// Pooled values. The zero value is PooledUnknown, so a State that was never
// read is never mistaken for a pooled host.
const (
	PooledUnknown  Pooled = iota
	PooledYes             // in the pool, gets traffic when healthy
	PooledNo              // out of the pool (depooled), still configured
	PooledInactive        // removed from the pool's configuration altogether
)

var pooledNames = [...]string{"unknown", "yes", "no", "inactive"}

// String returns conftool's spelling: yes, no, inactive (or unknown).
func (p Pooled) String() string {
	if p < 0 || int(p) >= len(pooledNames) {
		return fmt.Sprintf("Pooled(%d)", int(p))
	}
	return pooledNames[p]
}

// ParsePooled parses conftool's spelling; anything else, including
// "unknown", is an error.
func ParsePooled(s string) (Pooled, error) {
	for i, n := range pooledNames {
		if i > 0 && n == s {
			return Pooled(i), nil
		}
	}
	return PooledUnknown, fmt.Errorf("unknown pooled value %q (want yes, no or inactive)", s)
}

// MarshalText writes the conftool spelling, so State and Prior serialize
// readably.
func (p Pooled) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads the conftool spelling (and "unknown").
func (p *Pooled) UnmarshalText(b []byte) error {
	if string(b) == pooledNames[PooledUnknown] {
		*p = PooledUnknown
		return nil
	}
	v, err := ParsePooled(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// State is what the pool says about one host.
type State struct {
	Pooled   Pooled `json:"pooled"`
	Weight   int    `json:"weight"`       // the configured (user) weight, unchanged by a depool
	LB       string `json:"lb,omitempty"` // HAProxy's status (UP, DOWN, MAINT, DRAIN, "UP 1/2", "no check"); "" when no LB status is known
	Sessions int    `json:"sessions"`     // current sessions on the LB; 0 when unknown
	Up       bool   `json:"up"`           // healthy as the LB sees it; meaningful only when LB != ""
}

// Serving reports whether the host counts toward the depool budget: pooled,
// and up when the load balancer's view is known.
func (s State) Serving() bool {
	return s.Pooled == PooledYes && (s.LB == "" || s.Up)
}

// String is a short human form: "pooled=yes weight=10 lb=UP sessions=0".
func (s State) String() string {
	out := fmt.Sprintf("pooled=%s weight=%d", s.Pooled, s.Weight)
	if s.LB != "" {
		out += fmt.Sprintf(" lb=%q sessions=%d", s.LB, s.Sessions)
	}
	return out
}

// Prior is what Depool found and what it changed, for Repool to restore. It
// serializes to JSON so the caller can keep it in its state file across a
// crash.
type Prior struct {
	Host    string `json:"host"`
	Changed bool   `json:"changed"`         // Depool (may have) changed the host; Repool acts only when true
	Before  State  `json:"before"`          // the state Depool found
	Value   string `json:"value,omitempty"` // etcd: the exact value Depool found, written back byte for byte
	Wrote   string `json:"wrote,omitempty"` // etcd: the value Depool wrote
}

// LeftAlone reports whether Depool found the host out of the pool already
// (someone else depooled it, or it is inactive) and did not touch it. The
// caller should report such a host: Repool will leave it out.
func (p Prior) LeftAlone() bool {
	return !p.Changed && p.Before.Pooled != PooledYes && p.Before.Pooled != PooledUnknown
}
