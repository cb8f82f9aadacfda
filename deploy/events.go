package deploy

import (
	"time"
)

// Event is one thing that happened during a rollout: a phase or a step
// starting or ending on a host. Every event goes to one stream, rendered as
// TTY progress, plain lines, NDJSON, and into the rollout's log file.
type Event struct {
	Time     time.Time     `json:"time"`
	Type     string        `json:"type"`            // phase, step, host, check, batch, info, summary
	Phase    string        `json:"phase,omitempty"` // preflight, stage, promote, rollback, finalize
	Host     string        `json:"host,omitempty"`
	Step     string        `json:"step,omitempty"`
	Status   string        `json:"status,omitempty"` // start, ok, fail, skip
	Rev      string        `json:"rev,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns,omitempty"`
	Message  string        `json:"message,omitempty"`
	Evidence string        `json:"evidence,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// Event types and statuses.
const (
	EventPhase = "phase"
	EventStep  = "step"
	EventHost  = "host"
	EventCheck = "check"
	EventBatch = "batch"
	EventInfo  = "info"

	// PhaseLastGood marks the info event that adopts the rev every host
	// runs as last good (first rollout of an environment); record it.
	PhaseLastGood = "last-good"

	StatusStart = "start"
	StatusOK    = "ok"
	StatusFail  = "fail"
	StatusSkip  = "skip"
)

// Sink receives events. It must not block for long: the rollout waits for it.
type Sink func(Event)
