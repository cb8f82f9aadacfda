package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/state"
)

// inspectTimeout bounds reading every host for a diff.
const inspectTimeout = time.Minute

// HostDiff is what a config rollout would change on one host.
type HostDiff struct {
	Host    string   `json:"host"`
	Version string   `json:"version"`
	Live    string   `json:"live_version"`
	Diffs   []string `json:"diffs,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Diff renders every host's configuration from ref's templates (default:
// last good's) and compares it with what each host has live, changing
// nothing: `deployctl diff`.
func (d *Deployer) Diff(ctx context.Context, ref string) ([]HostDiff, error) {
	env := d.Env
	if !env.Files.Enabled() {
		return nil, usageErrorf("%s deploys no config files (add a config: section)", env.Name)
	}
	st, err := d.Store.Load(env.Name)
	if err != nil {
		return nil, err
	}
	rev, templateRev := st.LastGood.Rev, st.LastGood.TemplateRev
	if templateRev == "" {
		templateRev = rev
	}
	if ref != "" {
		if templateRev, err = d.Source.Resolve(ctx, ref); err != nil {
			return nil, err
		}
		if rev == "" {
			rev = templateRev
		}
	}
	if templateRev == "" {
		return nil, usageErrorf("no last good rev recorded for %s: name a <ref> to render", env.Name)
	}
	sets, err := RenderConfigs(ctx, env, d.Source, templateRev, rev)
	if err != nil {
		return nil, err
	}
	out := make([]HostDiff, len(env.Hosts))
	err = d.readHosts(ctx, func(ctx context.Context, e *Engine, i int) {
		h := env.Hosts[i].Name
		out[i] = diffHost(ctx, e.Hosts, env.AppDir(), h, sets[h])
	})
	return out, err
}

// readHosts connects the parts and runs read for every host of the
// environment, ssh.parallel at a time, all within inspectTimeout. read
// keeps its own per-host errors.
func (d *Deployer) readHosts(ctx context.Context, read func(ctx context.Context, e *Engine, i int)) error {
	e, closeParts, err := d.Connect(d.UI.Event)
	if err != nil {
		return err
	}
	defer closeParts()
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	sshx.Each(ctx, d.Env.SSH.Parallel, len(d.Env.Hosts), func(ctx context.Context, i int) error {
		read(ctx, e, i)
		return nil
	})
	return nil
}

func diffHost(ctx context.Context, conn Connector, base, host string, set *configset.Set) HostDiff {
	d := HostDiff{Host: host, Version: set.Version}
	r, err := conn.Runner(ctx, host)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	if d.Live, err = configset.Current(ctx, r, base); err != nil {
		d.Error = err.Error()
		return d
	}
	livePaths, err := configset.CurrentPaths(ctx, r, base)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	rendered := map[string][]byte{}
	for _, f := range set.Files {
		rendered[f.Path] = f.Content
	}
	paths := set.Paths()
	for _, p := range livePaths {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	live, err := configset.Live(ctx, r, paths)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	for _, p := range paths {
		if diff := configset.Diff(p, live[p], rendered[p]); diff != "" {
			d.Diffs = append(d.Diffs, diff)
		}
	}
	return d
}

// CheckRow is one check's result on one host.
type CheckRow struct {
	Host     string        `json:"host"`
	Check    string        `json:"check"`
	Type     string        `json:"type"`
	Stage    string        `json:"stage"`
	Verdict  string        `json:"verdict"`
	Duration time.Duration `json:"duration_ns"`
	Evidence string        `json:"evidence,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// Check runs the checks of stages against hosts as they are, changing
// nothing: `deployctl check`. Log checks judge what is written during
// window after their baseline.
func (d *Deployer) Check(ctx context.Context, hosts []string, stages []checks.Stage, window time.Duration) ([]CheckRow, error) {
	e, closeParts, err := d.Connect(d.UI.Event)
	if err != nil {
		return nil, err
	}
	defer closeParts()
	perHost := make([][]CheckRow, len(hosts))
	errs := sshx.Each(ctx, d.Env.SSH.Parallel, len(hosts), func(ctx context.Context, i int) error {
		var err error
		perHost[i], err = checkHost(ctx, e, hosts[i], stages, window)
		return err
	})
	var rows []CheckRow
	for _, r := range perHost {
		rows = append(rows, r...)
	}
	return rows, errors.Join(errs...)
}

func checkHost(ctx context.Context, e *Engine, host string, stages []checks.Stage, window time.Duration) ([]CheckRow, error) {
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", host, err)
	}
	base, err := e.Checks.Prepare(ctx, host, r)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(window)
	select {
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	case <-t.C:
	}
	var rows []CheckRow
	for _, st := range stages {
		for _, res := range e.Checks.Run(ctx, st, host, r, base) {
			row := CheckRow{Host: host, Check: res.Name, Type: string(res.Kind), Stage: st.String(), Verdict: res.Verdict.String(), Duration: res.Duration, Evidence: res.Evidence}
			if res.Err != nil {
				row.Error = res.Err.Error()
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// HostStatus is what one host really runs and how the pool sees it.
type HostStatus struct {
	Host string `json:"host"`
	Rev  string `json:"rev"`
	// Origin is who laid out the live release: deployctl, or "git"/"dir"
	// for a release adopted from another tool; Release says it in words.
	Origin  string      `json:"origin,omitempty"`
	Release string      `json:"release,omitempty"`
	Drift   bool        `json:"drift"`
	Pool    *pool.State `json:"pool,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// EnvStatus is the environment as the state records it and as its hosts
// show it: `deployctl status`.
type EnvStatus struct {
	Env      string         `json:"env"`
	LastGood state.Good     `json:"last_good"`
	Previous state.Good     `json:"previous"`
	Lock     *state.Owner   `json:"lock,omitempty"`
	LockLive bool           `json:"lock_live"`
	Current  *state.Rollout `json:"current,omitempty"`
	Hosts    []HostStatus   `json:"hosts"`
}

// Status reads the state and the lock, then every host's live release
// and pool state, changing nothing. A host that cannot be read has Error
// set; the others are still filled.
func (d *Deployer) Status(ctx context.Context) (*EnvStatus, error) {
	env := d.Env
	st, err := d.Store.Load(env.Name)
	if err != nil {
		return nil, err
	}
	rep := &EnvStatus{Env: env.Name, LastGood: st.LastGood, Previous: st.Previous, Current: st.Current}
	if rep.Lock, rep.LockLive, err = d.Store.Holder(env.Name); err != nil {
		return nil, err
	}
	rep.Hosts = make([]HostStatus, len(env.Hosts))
	err = d.readHosts(ctx, func(ctx context.Context, e *Engine, i int) {
		h := env.Hosts[i]
		hs := HostStatus{Host: h.Name}
		var errs []string
		if ps, err := e.Pool.State(ctx, h.Name); err == nil {
			hs.Pool = &ps
		} else {
			errs = append(errs, "pool: "+err.Error())
		}
		r, err := e.Hosts.Runner(ctx, h.Name)
		if err == nil {
			var live release.LiveRelease
			if live, err = e.Releases.Live(ctx, r); err == nil && live.Rev != "" {
				hs.Rev, hs.Origin, hs.Release = live.Rev, live.Origin.String(), live.Origin.Describe()
			}
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
		hs.Error = strings.Join(errs, "; ")
		hs.Drift = hs.Error == "" && hs.Rev != st.LastGood.Rev
		rep.Hosts[i] = hs
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// History returns the environment's last limit runs (0: all), oldest
// first, newest last.
func (d *Deployer) History(limit int) ([]state.Record, error) {
	return d.Store.History(d.Env.Name, limit)
}

// Lock says who holds the environment's lock and whether that process
// lives (nil, false: nobody).
func (d *Deployer) Lock() (*state.Owner, bool, error) {
	return d.Store.Holder(d.Env.Name)
}

// ReleaseStaleLock clears a lock whose holder died, and returns that
// holder (nil: there was none). It refuses while the holder lives.
func (d *Deployer) ReleaseStaleLock() (*state.Owner, error) {
	return d.Store.ForceRelease(d.Env.Name)
}
