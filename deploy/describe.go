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

func describeCheck(c checks.Spec) PlanCheck {
	d := c.WithDefaults()
	target := ""
	switch d.Type {
	case checks.KindPort:
		target = fmt.Sprintf("port %d from %s", d.Port, d.From)
	case checks.KindHTTP:
		target = fmt.Sprintf("%s %s expect %d", d.Method, d.URL, d.ExpectStatus)
	case checks.KindCommand:
		target = strings.Join(d.Argv, " ")
	case checks.KindLog:
		target = fmt.Sprintf("%s (%s, levels %s, max %d)", d.Path, d.Format, strings.Join(d.Levels, ","), d.MaxMatches)
	case checks.KindJournald:
		target = "journald unit " + d.Unit
	case checks.KindMetric:
		switch d.Mode {
		case checks.ModeScrape:
			target = fmt.Sprintf("scrape %s: %s errors %s", d.URL, d.Counter, d.ErrorCodes)
		default:
			target = fmt.Sprintf("%s %s: %s", d.Mode, d.Prometheus, d.Query)
		}
	}
	return PlanCheck{Name: d.Name, Type: string(d.Type), Stage: d.Stage, Timeout: d.Timeout.String(), Target: target}
}
