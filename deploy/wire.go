package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

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

// PoolHosts is the Pooler over a pool.Backend: it maps inventory hosts to
// the backend's hosts and enforces the depool budget over the whole
// environment.
type PoolHosts struct {
	Env       *inventory.Env
	Backend   pool.Backend
	MinPooled pool.Budget
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
	budget, err := pool.ParseBudget(cfg.MinPooled)
	if err != nil {
		return nil, err
	}
	return &PoolHosts{Env: env, Backend: b, MinPooled: budget}, nil
}

func (p *PoolHosts) host(name string) pool.Host {
	return pool.Host{Name: name, Vars: p.Env.HostVars(name, "")}
}

// State reads one host's pool state.
func (p *PoolHosts) State(ctx context.Context, host string) (pool.State, error) {
	return p.Backend.State(ctx, p.host(host))
}

// Depool takes one host out.
func (p *PoolHosts) Depool(ctx context.Context, host string) (pool.Prior, error) {
	return p.Backend.Depool(ctx, p.host(host))
}

// Repool restores what Depool found.
func (p *PoolHosts) Repool(ctx context.Context, host string, prior pool.Prior) error {
	return p.Backend.Repool(ctx, p.host(host), prior)
}

// States reads every host's state in parallel.
func (p *PoolHosts) States(ctx context.Context) []pool.HostState {
	rows := make([]pool.HostState, len(p.Env.Hosts))
	var wg sync.WaitGroup
	for i, h := range p.Env.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ph := p.host(h.Name)
			st, err := p.Backend.State(ctx, ph)
			rows[i] = pool.HostState{Host: ph, State: st, Err: err}
		}()
	}
	wg.Wait()
	return rows
}

// Budget refuses taking out when min_pooled of the environment would not
// keep serving. With no load balancer there is nothing to keep.
func (p *PoolHosts) Budget(ctx context.Context, out []string) error {
	if p.Env.Pool.WithDefaults().Backend == pool.BackendNone {
		return nil
	}
	return pool.CheckBudget(p.States(ctx), out, p.MinPooled)
}

// Close closes the backend.
func (p *PoolHosts) Close() error { return p.Backend.Close() }

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
