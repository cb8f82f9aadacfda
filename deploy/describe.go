package deploy

import (
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/hosttmpl"
	"github.com/deployctl/deployctl/pkg/pool"
)

// describePool says which backend takes hosts out and the depool budget.
func describePool(env *inventory.Env) string {
	c := env.Pool.WithDefaults()
	switch c.Backend {
	case pool.BackendEtcd:
		return fmt.Sprintf("etcd %s (min_pooled %s)", strings.Join(c.Etcd.Endpoints, ","), c.MinPooled)
	case pool.BackendHAProxy:
		return fmt.Sprintf("haproxy %s backend %s (min_pooled %s)", c.HAProxy.Address, c.HAProxy.Backend, c.MinPooled)
	}
	return "none (no load balancer: hosts serve while they restart)"
}

func poolTarget(env *inventory.Env, host string) string {
	c := env.Pool.WithDefaults()
	vars := env.HostVars(host, "")
	fill := func(s string) string {
		v, err := hosttmpl.Expand(s, vars)
		if err != nil {
			return s // validation already rejected unfillable templates
		}
		return v
	}
	switch c.Backend {
	case pool.BackendEtcd:
		return "etcd key " + fill(c.Etcd.Key)
	case pool.BackendHAProxy:
		return "haproxy server " + c.HAProxy.Backend + "/" + fill(c.HAProxy.Server)
	}
	return ""
}

func describeDepool(env *inventory.Env, host string) string {
	t := poolTarget(env, host)
	if t == "" {
		return "skipped (pool backend none)"
	}
	c := env.Pool.WithDefaults()
	return fmt.Sprintf("%s: pooled=no, verify, drain up to %s", t, c.DrainTimeout)
}

func describeRepool(env *inventory.Env, host string) string {
	t := poolTarget(env, host)
	if t == "" {
		return "skipped (pool backend none)"
	}
	return t + ": restore the state before depool, verify"
}

func checkStage(c checks.Spec) string { return c.StageOf().String() }

// describeCheck is a check's row in the plan; checks.Spec.Describe says
// what it looks at.
func describeCheck(c checks.Spec) PlanCheck {
	d := c.WithDefaults()
	return PlanCheck{Name: d.Name, Type: string(d.Type), Stage: d.Stage, Timeout: d.Timeout.String(), Target: c.Describe()}
}
