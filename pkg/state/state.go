package state

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/pool"
)

// Kind is what a rollout changes.
type Kind string

// Kinds of rollout.
const (
	KindCode   Kind = "code"   // a new rev, config unchanged
	KindConfig Kind = "config" // a new config version, code unchanged (--config-only)
	KindBoth   Kind = "both"   // a new rev and a new config version
)

// Result is how a rollout ended; the same values describe one host's
// outcome within a rollout.
type Result string

// Results of a rollout, each with its exit code in deployctl.
const (
	ResultDone           Result = "done"            // every host on the new rev (exit 0)
	ResultRolledBack     Result = "rolled-back"     // a step failed, every changed host back on last good (exit 3)
	ResultRollbackFailed Result = "rollback-failed" // some hosts could not go back; left depooled (exit 4)
	ResultAborted        Result = "aborted"         // deployctl abort, then rolled back
	ResultFailed         Result = "failed"          // failed before any host changed (exit 1)
	ResultInterrupted    Result = "interrupted"     // SIGINT/SIGTERM, or the process died (exit 130)
)

// State is what the deploy host knows about one environment.
type State struct {
	LastGood Good               `json:"last_good,omitzero"` // zero until a rollout finishes
	Previous Good               `json:"previous,omitzero"`  // the last good before LastGood
	Current  *Rollout           `json:"current,omitempty"`  // the rollout in progress, if any
	Hosts    map[string]HostRev `json:"hosts,omitempty"`    // each host's last known rev
	// Held are the hosts an operator depooled with deployctl pool depool,
	// with what pool repool must restore. A rollout, a rollback and an
	// abort leave them out of the pool (a rollout's own depooled hosts are
	// in Current.Held).
	Held map[string]pool.Prior `json:"held,omitempty"`
	// Schema is the highest schema version any host has started with: the
	// storage refuses code older than that.
	Schema int `json:"schema,omitempty"`
	// Metrics are the environment's deploy counters, kept here so that
	// they never go backwards whichever deploy host writes them next.
	Metrics deploymetrics.Counters `json:"metrics,omitzero"`
}

// Good is a rev and config version that finished on every host.
type Good struct {
	Kind          Kind   `json:"kind,omitempty"` // what the deploy that made it good changed
	Rev           string `json:"rev"`
	Ref           string `json:"ref,omitempty"`
	ConfigVersion string `json:"config_version,omitempty"`
	RolloutID     string `json:"rollout_id,omitempty"`
	// TemplateRev is the rev the config templates came from (a config-only
	// deploy renders them from another rev than the code's).
	TemplateRev string `json:"template_rev,omitempty"`
	// Configs is each host's config version.
	Configs map[string]string `json:"configs,omitempty"`
	// Schema is the schema version of Rev (schema_version_file), 0 if none.
	Schema int       `json:"schema,omitempty"`
	At     time.Time `json:"at"`
}

// IsZero reports whether g records nothing.
func (g Good) IsZero() bool { return g.Rev == "" && g.ConfigVersion == "" }

// Same reports whether g and o are the same code and config.
func (g Good) Same(o Good) bool { return g.Rev == o.Rev && g.ConfigVersion == o.ConfigVersion }

// Rollout is a rollout in progress, saved at every step so that status,
// abort and the next rollout know where a crashed one stopped.
type Rollout struct {
	ID            string    `json:"id"`
	Kind          Kind      `json:"kind"`
	Ref           string    `json:"ref"`
	Rev           string    `json:"rev"`
	ConfigVersion string    `json:"config_version,omitempty"`
	Started       time.Time `json:"started"`
	By            Owner     `json:"by"` // the process running it: pid, deploy host, user

	Phase string `json:"phase"`          // lock, resolve, plan, preflight, stage, promote, finalize
	Host  string `json:"host,omitempty"` // the target host of the current step
	Step  string `json:"step,omitempty"` // the current step of the per-host pipeline

	ChangedHosts []string `json:"changed_hosts,omitempty"` // in the order they changed; rollback goes in reverse
	// RanNew are the hosts on which the rollout started (or tried to start)
	// the new code: only they can have moved the storage's schema, so a
	// later abort lets the others go back whatever the schema guard says.
	RanNew []string `json:"ran_new,omitempty"`
	// Lease is the owner's lock lease in a shared store (etcd): a record
	// of a run whose lease is gone is an orphan.
	Lease int64              `json:"lease,omitempty"`
	Hosts map[string]HostRun `json:"hosts,omitempty"`
	// Restore is what each host ran before this rollout touched it (read in
	// preflight): where abort returns it.
	Restore map[string]HostRev `json:"restore,omitempty"`
	// Held are the hosts this rollout took out of the pool and has not put
	// back, with what their repool must restore. Hosts an operator depooled
	// are in State.Held, never here.
	Held map[string]pool.Prior `json:"held,omitempty"`
}

// HostRun is one host within a rollout: the rev it was moved to and how it
// ended (empty while in progress).
type HostRun struct {
	Rev    string `json:"rev"`
	Result Result `json:"result,omitempty"`
}

// HostRev is the rev (and config version) a host was last known to run.
type HostRev struct {
	Rev           string    `json:"rev"`
	ConfigVersion string    `json:"config_version,omitempty"`
	At            time.Time `json:"at"` // when it was set or read
}

// MarkChanged records that host is about to change, once, keeping order.
func (r *Rollout) MarkChanged(host string) {
	if !slices.Contains(r.ChangedHosts, host) {
		r.ChangedHosts = append(r.ChangedHosts, host)
	}
}

// MarkRanNew records that host is about to start the new code.
func (r *Rollout) MarkRanNew(host string) {
	if !slices.Contains(r.RanNew, host) {
		r.RanNew = append(r.RanNew, host)
	}
}

// SetLastGood makes g the last good; the old last good becomes Previous
// unless it is the same code and config.
func (s *State) SetLastGood(g Good) {
	if !s.LastGood.IsZero() && !s.LastGood.Same(g) {
		s.Previous = s.LastGood
	}
	s.LastGood = g
}

// Good returns the last good, or ErrNoState when no rollout ever finished.
func (s State) Good() (Good, error) {
	if s.LastGood.IsZero() {
		return Good{}, ErrNoState
	}
	return s.LastGood, nil
}

// SetHost records the rev a host runs.
func (s *State) SetHost(host string, hr HostRev) {
	if s.Hosts == nil {
		s.Hosts = make(map[string]HostRev)
	}
	s.Hosts[host] = hr
}

// Load reads env's state. A missing file is an empty State; a file that is
// not valid JSON is an error naming it.
func (s *Store) Load(env string) (State, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return State{}, fmt.Errorf("load state: %w", err)
	}
	var st State
	if _, err := readJSON(filepath.Join(dir, stateName), &st); err != nil {
		return State{}, fmt.Errorf("load state %s: %w", env, err)
	}
	return st, nil
}

// Save replaces env's state atomically: a reader, or the file after a
// crash, holds the old state or the new one, never a part.
func (s *Store) Save(env string, st State) error {
	dir, err := s.envDir(env)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, stateName), st); err != nil {
		return fmt.Errorf("save state %s: %w", env, err)
	}
	return nil
}
