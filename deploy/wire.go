package deploy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// SSHHosts is the Connector over an sshx.Pool: one connection per host,
// opened on first use and reused.
type SSHHosts struct {
	Env  *inventory.Env
	Pool *sshx.Pool
}

var _ Connector = (*SSHHosts)(nil)

// Runner returns the host's reused client.
func (s *SSHHosts) Runner(ctx context.Context, host string) (Runner, error) {
	h, ok := s.Env.Host(host)
	if !ok {
		return nil, fmt.Errorf("unknown host %q", host)
	}
	c, err := s.Pool.Client(ctx, sshx.Target{Name: h.Name, Address: h.Address, Port: h.SSHPort})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// PoolHosts is the Pooler over a pool.Pool: the environment's hosts, by
// inventory name and with their vars, behind its backend, with its depool
// budget.
type PoolHosts struct {
	pool *pool.Pool
	none bool // backend none: no load balancer, so no budget to keep
}

var _ Pooler = (*PoolHosts)(nil)

// NewPoolHosts opens the environment's pool backend.
func NewPoolHosts(env *inventory.Env) (*PoolHosts, error) {
	cfg := env.Pool.WithDefaults()
	for _, f := range []*string{&cfg.Etcd.PasswordFile, &cfg.Etcd.TLS.CAFile, &cfg.Etcd.TLS.CertFile, &cfg.Etcd.TLS.KeyFile} {
		*f = env.Project.Resolve(*f)
	}
	b, err := pool.New(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoolHosts(env, b)
	if err != nil {
		b.Close()
		return nil, err
	}
	return p, nil
}

// newPoolHosts puts the environment's hosts behind b.
func newPoolHosts(env *inventory.Env, b pool.Backend) (*PoolHosts, error) {
	cfg := env.Pool.WithDefaults()
	hosts := make([]pool.Host, len(env.Hosts))
	for i, h := range env.Hosts {
		hosts[i] = pool.Host{Name: h.Name, Vars: env.HostVars(h.Name, "")}
	}
	pl, err := pool.NewPool(b, hosts, cfg.MinPooled)
	if err != nil {
		return nil, err
	}
	return &PoolHosts{pool: pl, none: cfg.Backend == pool.BackendNone}, nil
}

// State reads one host's pool state.
func (p *PoolHosts) State(ctx context.Context, host string) (pool.State, error) {
	return p.pool.State(ctx, host)
}

// Depool takes one host out. It does not check the budget again: the
// engine checks it with Budget before a batch's depools, and takes a host
// out whatever the budget where it must (a failed host kept out, a host
// that ran nothing before). While it runs the host counts as out for every
// Budget.
func (p *PoolHosts) Depool(ctx context.Context, host string) (pool.Prior, error) {
	priors, err := p.pool.DepoolUnchecked(ctx, host)
	if len(priors) == 0 {
		return pool.Prior{}, err
	}
	return priors[0], err
}

// Repool restores what Depool found.
func (p *PoolHosts) Repool(ctx context.Context, host string, prior pool.Prior) error {
	prior.Host = host
	return p.pool.Repool(ctx, prior)
}

// Status reads every host's state, in inventory order, a bounded number at
// a time.
func (p *PoolHosts) Status(ctx context.Context) []pool.HostState {
	return p.pool.Status(ctx)
}

// Budget refuses taking out when min_pooled of the environment would not
// keep serving, counting the depools under way as out. With no load
// balancer there is nothing to keep.
func (p *PoolHosts) Budget(ctx context.Context, out []string) error {
	if p.none {
		return nil
	}
	return p.pool.CheckBudget(ctx, out...)
}

// Close closes the backend.
func (p *PoolHosts) Close() error { return p.pool.Close() }

// CheckSet is the Checker over a checks.Set: it builds each host's target
// from the inventory.
type CheckSet struct {
	Env *inventory.Env
	Set *checks.Set
}

var _ Checker = (*CheckSet)(nil)

// NewCheckSet compiles the environment's checks; log receives their debug
// and failure lines.
func NewCheckSet(env *inventory.Env, log *slog.Logger) (*CheckSet, error) {
	set, err := checks.New(env.Checks)
	if err != nil {
		return nil, err
	}
	if log != nil {
		set = set.WithLogger(log)
	}
	return &CheckSet{Env: env, Set: set}, nil
}

// Target is the checks' view of one host.
func (c *CheckSet) Target(host string, r Runner) checks.Target {
	h, _ := c.Env.Host(host)
	var peers []string
	for _, o := range c.Env.Hosts {
		if o.Name != host {
			peers = append(peers, o.Name)
		}
	}
	return checks.Target{Host: h.Name, Address: h.Address, Port: c.Env.Service.Port, Vars: c.Env.HostVars(host, ""), Peers: peers, Runner: r}
}

// Prepare records the checks' baseline before the stop.
func (c *CheckSet) Prepare(ctx context.Context, host string, r Runner) (*checks.Baseline, error) {
	return c.Set.Prepare(ctx, c.Target(host, r))
}

// Run runs one stage's checks.
func (c *CheckSet) Run(ctx context.Context, st checks.Stage, host string, r Runner, b *checks.Baseline) []checks.Result {
	return c.Set.Run(ctx, st, c.Target(host, r), b)
}

// Has reports whether any check runs in st.
func (c *CheckSet) Has(st checks.Stage) bool { return len(c.Set.Stage(st)) > 0 }
