package inventory

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Size is a host count or a percent of a set of hosts.
type Size struct {
	N       int     // a count, when Percent is 0
	Percent float64 // 0 < Percent <= 100
}

// ParseSize parses "3" or "25%".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || f > 100 || math.IsNaN(f) {
			return Size{}, fmt.Errorf("bad percent %q: want a number above 0 and at most 100, then %%", s)
		}
		return Size{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return Size{}, fmt.Errorf("bad size %q: want a whole number of hosts (at least 1) or a percent like \"25%%\"", s)
	}
	return Size{N: n}, nil
}

// Of returns the size as a host count out of total: a percent rounds up and
// is at least 1 (a batch never has zero hosts); a count is capped at total.
func (s Size) Of(total int) int {
	n := s.N
	if s.Percent > 0 {
		n = int(math.Ceil(s.Percent * float64(total) / 100))
	}
	return max(1, min(n, total))
}

// String returns the size as written: "3" or "25%".
func (s Size) String() string {
	if s.Percent > 0 {
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(s.N)
}

// UnmarshalYAML accepts an integer or a percent string.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a percent", n.Line)
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// MarshalYAML writes the size back as written.
func (s Size) MarshalYAML() (any, error) {
	if s.Percent > 0 {
		return s.String(), nil
	}
	return s.N, nil
}

// BatchSize is how many hosts of a group change at once: one size for every
// batch, or a ramp whose i-th entry sizes the i-th batch of a group (the last
// entry repeats). Percents are of the group's host count. Empty means 1.
type BatchSize []Size

// UnmarshalYAML accepts a size or a list of sizes.
func (b *BatchSize) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var s Size
		if err := s.UnmarshalYAML(n); err != nil {
			return err
		}
		*b = BatchSize{s}
		return nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return fmt.Errorf("line %d: batch_size ramp is empty", n.Line)
		}
		out := make(BatchSize, len(n.Content))
		for i, c := range n.Content {
			if err := out[i].UnmarshalYAML(c); err != nil {
				return err
			}
		}
		*b = out
		return nil
	}
	return fmt.Errorf("line %d: batch_size must be a number, a percent, or a list of them", n.Line)
}

// MarshalYAML writes a single size as a scalar and a ramp as a list.
func (b BatchSize) MarshalYAML() (any, error) {
	if len(b) == 1 {
		return b[0].MarshalYAML()
	}
	return []Size(b), nil
}

// Batches splits hosts into consecutive batches following the ramp.
func (b BatchSize) Batches(hosts []string) [][]string {
	ramp := b
	if len(ramp) == 0 {
		ramp = BatchSize{{N: 1}}
	}
	var out [][]string
	for i, rest := 0, hosts; len(rest) > 0; i++ {
		n := ramp[min(i, len(ramp)-1)].Of(len(hosts))
		n = min(n, len(rest))
		out = append(out, rest[:n:n])
		rest = rest[n:]
	}
	return out
}

// String renders the batch size as written.
func (b BatchSize) String() string {
	if len(b) == 0 {
		return "1"
	}
	parts := make([]string, len(b))
	for i, s := range b {
		parts[i] = s.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
