package deploy

import (
	"time"
)

// Event is one thing that happened during a run: a phase or a step
// starting or ending on a host. Every event goes to one stream, rendered as
// TTY progress, plain lines, NDJSON, and into the rollout's log file.
// Events are for people and logs: the run records its state itself.
type Event struct {
	Time     time.Time     `json:"time"`
	Type     EventType     `json:"type"`
	Phase    Phase         `json:"phase,omitempty"`
	Host     string        `json:"host,omitempty"`
	Step     string        `json:"step,omitempty"` // a pipeline Step's name, or "hook <name>"
	Status   Status        `json:"status,omitempty"`
	Rev      string        `json:"rev,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns,omitempty"`
	Message  string        `json:"message,omitempty"`
	Evidence string        `json:"evidence,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// EventType says what an event is about.
type EventType string

// Event types.
const (
	EventPhase EventType = "phase" // a phase of the run starts or ends
	EventStep  EventType = "step"  // a step of a host's pipeline (or a hook)
	EventHost  EventType = "host"  // a host's pipeline starts or ends
	EventCheck EventType = "check" // one check's result
	EventBatch EventType = "batch" // a batch of a group starts
	EventInfo  EventType = "info"  // a note: adoption, a warning, a panic
)

// Phase is a phase of a run (DESIGN.md).
type Phase string

// Phases, in the order a rollout passes them.
const (
	PhasePreflight   Phase = "preflight"
	PhaseStage       Phase = "stage"
	PhaseStageConfig Phase = "stage-config"
	PhaseHook        Phase = "hook"
	PhasePromote     Phase = "promote"
	PhaseCanary      Phase = "canary"
	PhaseRollback    Phase = "rollback"
	PhaseFinalize    Phase = "finalize"
	// PhaseLastGood marks the info event that adopts the rev every host
	// runs as last good (first rollout of an environment).
	PhaseLastGood Phase = "last-good"
)

// Status is how far a phase, step or check got.
type Status string

// Statuses.
const (
	StatusStart Status = "start"
	StatusOK    Status = "ok"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
)

// Sink receives events. It must not block for long: the run waits for it.
type Sink func(Event)
