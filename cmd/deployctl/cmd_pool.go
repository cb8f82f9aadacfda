package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

func newPoolCommand(g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Show and change hosts' pool state with the same safety as a rollout",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Every host: pooled, weight, load balancer state, sessions",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(c *cobra.Command, _ []string) error { return runPoolStatus(c.Context(), g) },
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "depool <host>",
		Short: "Take a pooled host out of traffic (depool budget enforced; drained and verified)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  func(c *cobra.Command, args []string) error { return runPoolChange(c.Context(), g, args[0], true) },
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "repool <host>",
		Short: "Put back a host deployctl depooled, exactly as it was (weight included)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  func(c *cobra.Command, args []string) error { return runPoolChange(c.Context(), g, args[0], false) },
	})
	return cmd
}

type poolRow struct {
	Host  string      `json:"host"`
	State *pool.State `json:"state,omitempty"`
	Error string      `json:"error,omitempty"`
}

func runPoolStatus(ctx context.Context, g *GlobalOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	var rows []poolRow
	for _, hs := range a.pool.Status(ctx) {
		r := poolRow{Host: hs.Host.Name}
		if hs.Err != nil {
			r.Error = hs.Err.Error()
		} else {
			st := hs.State
			r.State = &st
		}
		rows = append(rows, r)
	}
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPOOLED\tWEIGHT\tLB\tSESSIONS\tERROR")
	for _, r := range rows {
		if r.State == nil {
			fmt.Fprintf(tw, "%s\t?\t?\t\t\t%s\n", r.Host, r.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t\n", r.Host, r.State.Pooled, r.State.Weight, r.State.LB, r.State.Sessions)
	}
	return tw.Flush()
}

// runPoolChange depools or repools one host under the environment's lock.
// A depool records what it found in the state, so repool restores exactly
// that, from this process or a later one.
func runPoolChange(ctx context.Context, g *GlobalOptions, host string, depool bool) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	if _, ok := a.env.Host(host); !ok {
		return usageErrorf("unknown host %q in %s", host, a.env.Name)
	}
	verb := map[bool]string{true: "depool", false: "repool"}[depool]
	lock, err := a.store.Lock(ctx, a.env.Name, a.owner("pool "+verb+" "+host, ""), state.NoWait)
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := a.store.Load(a.env.Name)
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	if depool {
		if err := a.pool.Budget(ctx, []string{host}); err != nil {
			return err
		}
		prior, err := a.pool.Depool(ctx, host)
		if prior.Changed {
			if st.Held == nil {
				st.Held = map[string]pool.Prior{}
			}
			st.Held[host] = prior
			if serr := a.store.Save(a.env.Name, st); serr != nil {
				return fmt.Errorf("depooled %s but could not record it: %w", host, serr)
			}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s depooled (was %s); deployctl pool repool %s restores it\n", host, prior.Before, host)
		return nil
	}
	prior, ok := st.Held[host]
	if !ok {
		return fmt.Errorf("%w: %s was not depooled with 'deployctl pool depool', so there is nothing to restore; pool it with the tool that depooled it", errNothingDone, host)
	}
	before, err := a.pool.State(ctx, host)
	if err != nil {
		return err
	}
	if before.Pooled == pool.PooledYes {
		// Someone pooled it already: say so, and forget our record.
		delete(st.Held, host)
		if err := a.store.Save(a.env.Name, st); err != nil {
			return fmt.Errorf("%w: %w", deploy.ErrRecord, err)
		}
		return fmt.Errorf("%w: %s is already pooled (%s); nothing written", errNothingDone, host, before)
	}
	if err := a.pool.Repool(ctx, host, prior); err != nil {
		return err
	}
	after, err := a.pool.State(ctx, host)
	if err != nil {
		return fmt.Errorf("repooled %s but could not read it back: %w", host, err)
	}
	delete(st.Held, host)
	if err := a.store.Save(a.env.Name, st); err != nil {
		return fmt.Errorf("%w: repooled %s but could not record it: %w", deploy.ErrRecord, host, err)
	}
	fmt.Fprintf(g.stdout, "%s repooled: was %s, now %s\n", host, before, after)
	return nil
}

// errNothingDone is a pool change that found nothing to change: it exits 1
// so a script does not take it for a change.
var errNothingDone = errors.New("nothing done")
