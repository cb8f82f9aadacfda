package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/state"
)

// statusTimeout bounds reading every host and the pool.
const statusTimeout = 30 * time.Second

func newStatusCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what every host really runs, its pool state, drift from last good, the lock and any rollout in progress",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), g) },
	}
}

type hostStatus struct {
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

type statusReport struct {
	Env      string         `json:"env"`
	LastGood state.Good     `json:"last_good"`
	Previous state.Good     `json:"previous"`
	Lock     *state.Owner   `json:"lock,omitempty"`
	LockLive bool           `json:"lock_live"`
	Current  *state.Rollout `json:"current,omitempty"`
	Hosts    []hostStatus   `json:"hosts"`
}

func runStatus(ctx context.Context, g *GlobalOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	st, err := a.store.Load(a.env.Name)
	if err != nil {
		return err
	}
	rep := statusReport{Env: a.env.Name, LastGood: st.LastGood, Previous: st.Previous, Current: st.Current}
	if rep.Lock, rep.LockLive, err = a.store.Holder(a.env.Name); err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	hosts := &deploy.SSHHosts{Env: a.env, Pool: a.ssh}
	rel := deploy.NewReleases(a.env, nil)
	rep.Hosts = make([]hostStatus, len(a.env.Hosts))
	sshx.Each(ctx, a.env.SSH.Parallel, len(a.env.Hosts), func(ctx context.Context, i int) error {
		h := a.env.Hosts[i]
		hs := hostStatus{Host: h.Name}
		if ps, err := a.pool.State(ctx, h.Name); err == nil {
			hs.Pool = &ps
		} else {
			hs.Error = "pool: " + err.Error()
		}
		r, err := hosts.Runner(ctx, h.Name)
		if err == nil {
			var live release.LiveRelease
			if live, err = rel.Live(ctx, r); err == nil && live.Rev != "" {
				hs.Rev, hs.Origin, hs.Release = live.Rev, live.Origin.String(), live.Origin.Describe()
			}
		}
		if err != nil {
			hs.Error = joinErr(hs.Error, err.Error())
		}
		hs.Drift = hs.Error == "" && hs.Rev != st.LastGood.Rev
		rep.Hosts[i] = hs
		return nil
	})
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(rep)
	}
	w := g.stdout
	fmt.Fprintf(w, "environment %s\n", rep.Env)
	fmt.Fprintf(w, "  last good  %s\n", describeGood(rep.LastGood))
	fmt.Fprintf(w, "  previous   %s\n", describeGood(rep.Previous))
	switch {
	case rep.Lock != nil && rep.LockLive:
		fmt.Fprintf(w, "  lock       held by %s\n", rep.Lock)
	case rep.Lock != nil:
		fmt.Fprintf(w, "  lock       STALE: %s died holding it (deployctl lock release --force clears it)\n", rep.Lock)
	default:
		fmt.Fprintf(w, "  lock       free\n")
	}
	if c := rep.Current; c != nil {
		live := "NOT RUNNING: run deployctl abort"
		if rep.LockLive {
			live = "running"
		}
		fmt.Fprintf(w, "  rollout    %s %s (%s) by %s: %s, phase %s, host %s, step %s, changed %v\n", c.ID, c.Ref, shortRev(c.Rev), c.By, live, c.Phase, c.Host, c.Step, c.ChangedHosts)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nHOST\tREV\tRELEASE\tDRIFT\tPOOLED\tWEIGHT\tLB\tSESSIONS\tERROR")
	for _, h := range rep.Hosts {
		drift := ""
		if h.Drift {
			drift = "DRIFT"
		}
		pooled, weight, lb, sess := "?", "?", "", ""
		if h.Pool != nil {
			pooled, weight, lb, sess = h.Pool.Pooled.String(), fmt.Sprint(h.Pool.Weight), h.Pool.LB, fmt.Sprint(h.Pool.Sessions)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Host, orNone(shortRev(h.Rev)), h.Release, drift, pooled, weight, lb, sess, h.Error)
	}
	return tw.Flush()
}

func describeGood(g state.Good) string {
	if g.Rev == "" {
		return "none"
	}
	s := shortRev(g.Rev)
	if g.Ref != "" {
		s += " (" + g.Ref + ")"
	}
	return s + " at " + g.At.UTC().Format(time.RFC3339)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
