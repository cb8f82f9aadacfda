package deploy

import "time"

// Step is one step of the per-host pipeline, in pipeline order.
type Step int

// The per-host pipeline (DESIGN.md): depool (verify and drain included),
// stop, activate, start, wait for the port, checks while depooled, repool
// (verify included), checks while pooled.
const (
	StepDepool Step = iota
	StepStop
	StepActivate
	StepStart
	StepPort
	StepChecksDepooled
	StepRepool
	StepChecksPooled
)

var stepNames = [...]string{
	StepDepool:         "depool",
	StepStop:           "stop",
	StepActivate:       "activate",
	StepStart:          "start",
	StepPort:           "port",
	StepChecksDepooled: "checks:depooled",
	StepRepool:         "repool",
	StepChecksPooled:   "checks:pooled",
}

func (s Step) String() string {
	if s < 0 || int(s) >= len(stepNames) {
		return "step(?)"
	}
	return stepNames[s]
}

// Steps lists the pipeline in order.
func Steps() []Step {
	out := make([]Step, len(stepNames))
	for i := range out {
		out[i] = Step(i)
	}
	return out
}

// hostSteps lists the steps of one host's pipeline, in order: runHost runs
// exactly these and the plan prints exactly these, so the two cannot
// drift. The pooled soak runs when the pass soaks and there is something
// to hold: pooled checks, or a min_healthy_time.
func hostSteps(soak, pooledChecks bool, minHealthy time.Duration) []Step {
	steps := []Step{StepDepool, StepStop, StepActivate, StepStart, StepPort, StepChecksDepooled, StepRepool}
	if soak && (pooledChecks || minHealthy > 0) {
		steps = append(steps, StepChecksPooled)
	}
	return steps
}
