package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of Event.
const (
	KindStart    Kind = "start"    // a rollout began
	KindFinish   Kind = "finish"   // a rollout finished on every host
	KindFailure  Kind = "failure"  // a step failed (the rollback follows)
	KindRollback Kind = "rollback" // changed hosts were returned to their restore points
	KindAbort    Kind = "abort"    // an operator aborted a rollout
)

// Kinds returns every kind, in the order of a rollout's life.
func Kinds() []Kind {
	return []Kind{KindStart, KindFinish, KindFailure, KindRollback, KindAbort}
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindStart, KindFinish, KindFailure, KindRollback, KindAbort:
		return true
	}
	return false
}

// Event is one thing a deploy did, as a webhook receives it (JSON, with
// the snake_case names of the tags) and a command reads it on stdin.
//
// A command also gets DEPLOYCTL_KIND, DEPLOYCTL_APP, DEPLOYCTL_ENV,
// DEPLOYCTL_REF, DEPLOYCTL_REV, DEPLOYCTL_PREVIOUS_REV,
// DEPLOYCTL_CONFIG_VERSION, DEPLOYCTL_OUTCOME, DEPLOYCTL_REASON,
// DEPLOYCTL_FAILED_HOST, DEPLOYCTL_HOSTS_CHANGED and
// DEPLOYCTL_HOSTS_LEFT_DEPOOLED (space-separated), DEPLOYCTL_USER,
// DEPLOYCTL_DEPLOY_HOST and DEPLOYCTL_ROLLOUT_ID.
//
// In JSON, Duration is a Go duration string ("1m30s"); Started, Finished
// and Duration are left out when zero, and the host lists are [] when
// empty.
type Event struct {
	Kind              Kind          `json:"kind"`
	App               string        `json:"app"`
	Env               string        `json:"env"`
	Ref               string        `json:"ref"`                 // as asked ("v2", a branch)
	Rev               string        `json:"rev"`                 // the commit it was pinned to
	PreviousRev       string        `json:"previous_rev"`        // last good before this run
	ConfigVersion     string        `json:"config_version"`      // of the rendered configuration
	Outcome           string        `json:"outcome"`             // the run's result, as deploy words it
	Reason            string        `json:"reason"`              // why it failed or stopped
	FailedHost        string        `json:"failed_host"`         // the first host that failed
	HostsChanged      []string      `json:"hosts_changed"`       // hosts the run changed
	HostsLeftDepooled []string      `json:"hosts_left_depooled"` // hosts out of the pool at the end
	User              string        `json:"user"`                // who ran it
	DeployHost        string        `json:"deploy_host"`         // where it ran
	RolloutID         string        `json:"rollout_id"`
	Started           time.Time     `json:"started,omitzero"`
	Finished          time.Time     `json:"finished,omitzero"`
	Duration          time.Duration `json:"duration,omitzero"`
}

// eventFields is Event without its methods, for encoding/json.
type eventFields Event

// eventJSON is the wire form: Duration as a string shadows the embedded
// field of the same name.
type eventJSON struct {
	*eventFields
	Duration string `json:"duration,omitempty"`
}

// MarshalJSON encodes e with Duration as a Go duration string.
func (e Event) MarshalJSON() ([]byte, error) {
	f := eventFields(e)
	if f.HostsChanged == nil {
		f.HostsChanged = []string{}
	}
	if f.HostsLeftDepooled == nil {
		f.HostsLeftDepooled = []string{}
	}
	w := eventJSON{eventFields: &f}
	if e.Duration != 0 {
		w.Duration = e.Duration.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (e *Event) UnmarshalJSON(data []byte) error {
	var f eventFields
	w := eventJSON{eventFields: &f}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Duration != "" {
		d, err := time.ParseDuration(w.Duration)
		if err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		f.Duration = d
	}
	*e = Event(f)
	return nil
}

// environ returns e's facts as DEPLOYCTL_* variables. A NUL byte, which no
// environment can hold, is dropped.
func (e Event) environ() []string {
	vars := []struct{ name, value string }{
		{"KIND", string(e.Kind)},
		{"APP", e.App},
		{"ENV", e.Env},
		{"REF", e.Ref},
		{"REV", e.Rev},
		{"PREVIOUS_REV", e.PreviousRev},
		{"CONFIG_VERSION", e.ConfigVersion},
		{"OUTCOME", e.Outcome},
		{"REASON", e.Reason},
		{"FAILED_HOST", e.FailedHost},
		{"HOSTS_CHANGED", strings.Join(e.HostsChanged, " ")},
		{"HOSTS_LEFT_DEPOOLED", strings.Join(e.HostsLeftDepooled, " ")},
		{"USER", e.User},
		{"DEPLOY_HOST", e.DeployHost},
		{"ROLLOUT_ID", e.RolloutID},
	}
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = "DEPLOYCTL_" + v.name + "=" + strings.ReplaceAll(v.value, "\x00", "")
	}
	return out
}
