package checks

import "fmt"

// Stage is the point of the per-host pipeline at which a check runs.
type Stage int

// Stages in pipeline order.
const (
	// StageDepooled runs after the start and the port wait, before repool.
	StageDepooled Stage = iota
	// StagePooled is a soak after repool: metrics need traffic.
	StagePooled
	// StageCanary runs once after the whole canary group, after canary_wait.
	StageCanary
)

var stageNames = [...]string{
	StageDepooled: "depooled",
	StagePooled:   "pooled",
	StageCanary:   "canary",
}

func (s Stage) String() string {
	if s < 0 || int(s) >= len(stageNames) {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s]
}

// ParseStage parses a stage name as written in the configuration.
func ParseStage(s string) (Stage, error) {
	for i, n := range stageNames {
		if n == s {
			return Stage(i), nil
		}
	}
	return 0, fmt.Errorf("unknown stage %q (want depooled, pooled or canary)", s)
}

// MarshalText renders the stage by name (for --output json).
func (s Stage) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a stage name.
func (s *Stage) UnmarshalText(b []byte) error {
	st, err := ParseStage(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}
