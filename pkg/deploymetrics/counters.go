package deploymetrics

import "time"

// Outcomes of a finished rollout: the values of the outcome label of
// deployctl_rollouts_total, the same words as deploy.Outcome.
const (
	OutcomeDone           = "done"
	OutcomeRolledBack     = "rolled-back"
	OutcomeRollbackFailed = "rollback-failed"
	OutcomeInterrupted    = "interrupted"
	OutcomeFailed         = "failed"
)

// Outcomes returns every outcome, in the order Render writes them.
func Outcomes() []string {
	return []string{OutcomeDone, OutcomeRolledBack, OutcomeRollbackFailed, OutcomeInterrupted, OutcomeFailed}
}

// ValidOutcome reports whether s is one of Outcomes.
func ValidOutcome(s string) bool {
	for _, o := range Outcomes() {
		if s == o {
			return true
		}
	}
	return false
}

// Counters is the cumulative state behind the metrics of one app and
// environment. Its zero value is ready to use; it is a plain value (a copy
// shares nothing) and comparable with ==. It is plain JSON: keep it in
// the environment's state and read it back before each Start and Finish, so
// that counters never go backwards across processes or deploy hosts.
type Counters struct {
	// Rollouts counts finished rollouts by outcome.
	Rollouts RolloutCounts `json:"rollouts,omitzero"`
	// Rollbacks counts rollouts that returned changed hosts to last good.
	Rollbacks uint64 `json:"rollbacks,omitempty"`
	// HostsChanged counts the hosts switched to a new release, over all
	// rollouts.
	HostsChanged uint64 `json:"hosts_changed,omitempty"`
	// LastHostsChanged is the number of hosts the last finished rollout
	// switched.
	LastHostsChanged uint64 `json:"last_hosts_changed,omitempty"`
	// LastSuccess is when the last done rollout finished (zero: never).
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastDuration is how long the last finished rollout took, whatever
	// its outcome (JSON: nanoseconds).
	LastDuration time.Duration `json:"last_duration_ns,omitempty"`
	// Rev and ConfigVersion are what the environment runs after the last
	// finished rollout ("" until known).
	Rev           string `json:"rev,omitempty"`
	ConfigVersion string `json:"config_version,omitempty"`
	// InProgress is true between Start and Finish.
	InProgress bool `json:"in_progress,omitempty"`
}

// Start records that a rollout is running.
func (c *Counters) Start() {
	c.InProgress = true
}

// Finish records how a rollout ended and clears InProgress.
//
// outcome is one of Outcomes; "aborted" (state.ResultAborted) counts as
// interrupted and any other unknown word as failed, so no rollout goes
// uncounted. rolledBack says the run returned changed hosts to last good
// (a rolled-back outcome always counts as one). hostsChanged is the number
// of hosts the rollout switched to its release (a negative number counts
// as 0). rev and configVersion are what the environment runs once the run
// is over: the new revision after done, the last good one it returned to
// after a rollback; an empty value keeps the previous one. at is when the
// rollout ended (zero: now); the last success time never moves backwards,
// whatever the clocks of two deploy hosts say.
func (c *Counters) Finish(outcome string, duration time.Duration, hostsChanged int, rolledBack bool, rev, configVersion string, at time.Time) {
	switch {
	case outcome == "aborted":
		outcome = OutcomeInterrupted
	case !ValidOutcome(outcome):
		outcome = OutcomeFailed
	}
	if at.IsZero() {
		at = time.Now()
	}
	c.Rollouts.add(outcome)
	if rolledBack || outcome == OutcomeRolledBack {
		c.Rollbacks++
	}
	if hostsChanged < 0 {
		hostsChanged = 0
	}
	c.HostsChanged += uint64(hostsChanged)
	c.LastHostsChanged = uint64(hostsChanged)
	if duration < 0 {
		duration = 0
	}
	c.LastDuration = duration
	if outcome == OutcomeDone && at.After(c.LastSuccess) {
		c.LastSuccess = at
	}
	if rev != "" {
		c.Rev = rev
	}
	if configVersion != "" {
		c.ConfigVersion = configVersion
	}
	c.InProgress = false
}

// RolloutCounts counts finished rollouts by outcome; in JSON, keyed by the
// outcome words.
type RolloutCounts struct {
	Done           uint64 `json:"done,omitempty"`
	RolledBack     uint64 `json:"rolled-back,omitempty"`
	RollbackFailed uint64 `json:"rollback-failed,omitempty"`
	Interrupted    uint64 `json:"interrupted,omitempty"`
	Failed         uint64 `json:"failed,omitempty"`
}

// Get returns the count of one outcome (0 for a word not in Outcomes).
func (r RolloutCounts) Get(outcome string) uint64 {
	if p := r.field(outcome); p != nil {
		return *p
	}
	return 0
}

// Total is the number of finished rollouts, all outcomes.
func (r RolloutCounts) Total() uint64 {
	return r.Done + r.RolledBack + r.RollbackFailed + r.Interrupted + r.Failed
}

func (r *RolloutCounts) add(outcome string) {
	if p := r.field(outcome); p != nil {
		*p++
	}
}

func (r *RolloutCounts) field(outcome string) *uint64 {
	switch outcome {
	case OutcomeDone:
		return &r.Done
	case OutcomeRolledBack:
		return &r.RolledBack
	case OutcomeRollbackFailed:
		return &r.RollbackFailed
	case OutcomeInterrupted:
		return &r.Interrupted
	case OutcomeFailed:
		return &r.Failed
	}
	return nil
}
