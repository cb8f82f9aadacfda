package deploy

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
