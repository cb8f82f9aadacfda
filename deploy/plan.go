package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// Plan is what a rollout will do, computed before anything changes:
// `deployctl plan` prints exactly this, and rollout follows it.
type Plan struct {
	App          string      `json:"app"`
	Env          string      `json:"env"`
	Ref          string      `json:"ref"`
	Rev          string      `json:"rev"`
	Commit       *Commit     `json:"commit,omitempty"`
	Pool         string      `json:"pool"`
	BatchSize    string      `json:"batch_size"`
	FailureLimit int         `json:"failure_limit"`
	CanaryWait   string      `json:"canary_wait"`
	Groups       []PlanGroup `json:"groups"`
	Hosts        []PlanHost  `json:"hosts"`
	Checks       []PlanCheck `json:"checks"`
}

// Commit describes the pinned rev.
type Commit struct {
	Subject string    `json:"subject"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
}

// PlanGroup is one group and its batches, in order.
type PlanGroup struct {
	Name    string     `json:"name"`
	Batches [][]string `json:"batches"`
}

// PlanHost is one host's pipeline with every argv and target filled in.
type PlanHost struct {
	Name    string     `json:"name"`
	Address string     `json:"address"`
	Group   string     `json:"group"`
	Batch   int        `json:"batch"`
	Steps   []PlanStep `json:"steps"`
}

// PlanStep is one step of a host's pipeline and what exactly it will do.
type PlanStep struct {
	Step   string `json:"step"`
	Detail string `json:"detail"`
}

// PlanCheck is one configured check.
type PlanCheck struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Stage   string `json:"stage"`
	Timeout string `json:"timeout"`
	Target  string `json:"target"`
}

// BuildPlan computes the plan of rolling rev out to env.
func BuildPlan(env *inventory.Env, ref, rev string, commit *Commit) (*Plan, error) {
	p := &Plan{
		App:          env.App,
		Env:          env.Name,
		Ref:          ref,
		Rev:          rev,
		Commit:       commit,
		Pool:         describePool(env),
		BatchSize:    env.Rollout.BatchSize.String(),
		FailureLimit: env.Rollout.FailureLimit,
		CanaryWait:   env.Rollout.CanaryWait.String(),
	}
	for _, g := range env.OrderedGroups() {
		p.Groups = append(p.Groups, PlanGroup{Name: g.Name, Batches: env.Rollout.BatchSize.Batches(g.Hosts)})
	}
	for _, b := range env.Batches() {
		for _, name := range b.Hosts {
			h, _ := env.Host(name)
			steps, err := planSteps(env, name, rev)
			if err != nil {
				return nil, err
			}
			p.Hosts = append(p.Hosts, PlanHost{Name: name, Address: h.Address, Group: b.Group, Batch: b.Index, Steps: steps})
		}
	}
	for _, c := range env.Checks {
		p.Checks = append(p.Checks, describeCheck(c))
	}
	return p, nil
}

// planSteps is what each step of hostSteps will do on host, for a
// rollout to rev.
func planSteps(env *inventory.Env, host, rev string) ([]PlanStep, error) {
	argv := func(action string) (string, error) {
		a, ok, err := env.ServiceArgv(action, host, rev)
		if err != nil || !ok {
			return "", err
		}
		q, err := sshx.Quote(a...)
		return q, err
	}
	stop, err := argv("stop")
	if err != nil {
		return nil, err
	}
	start, err := argv("start")
	if err != nil {
		return nil, err
	}
	h, _ := env.Host(host)
	pooled := checkNames(env, "pooled")
	var steps []PlanStep
	for _, s := range hostSteps(true, pooled != "none", env.Rollout.MinHealthyTime) {
		var detail string
		switch s {
		case StepDepool:
			detail = describeDepool(env, host)
		case StepStop:
			detail = fmt.Sprintf("%s (up to %s)", stop, env.Service.StopTimeout)
		case StepActivate:
			detail = fmt.Sprintf("%s -> %s", env.CurrentDir(), env.ReleaseDir(rev))
		case StepStart:
			detail = fmt.Sprintf("%s (up to %s)", start, env.Service.StartTimeout)
		case StepPort:
			detail = fmt.Sprintf("%s:%d accepts TCP (up to %s)", h.Address, env.Service.Port, env.Service.PortTimeout)
		case StepChecksDepooled:
			detail = checkNames(env, "depooled")
		case StepRepool:
			detail = describeRepool(env, host)
		case StepChecksPooled:
			detail = pooled
		}
		steps = append(steps, PlanStep{Step: s.String(), Detail: detail})
	}
	return steps, nil
}

func checkNames(env *inventory.Env, stage string) string {
	var names []string
	for _, c := range env.Checks {
		if checkStage(c) == stage {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
