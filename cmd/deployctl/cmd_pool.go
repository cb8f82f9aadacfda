package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/pkg/pool"
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

// runPoolChange depools or repools one host by hand (deploy.Deployer's
// Depool and Repool: under the lock, recorded in the state).
func runPoolChange(ctx context.Context, g *GlobalOptions, host string, depool bool) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	d := a.deployer(newEventPrinter(g.stdout, g.Output == outputJSON))
	if depool {
		before, err := d.Depool(ctx, host)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s depooled (was %s); deployctl pool repool %s restores it\n", host, before, host)
		return nil
	}
	before, after, err := d.Repool(ctx, host)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s repooled: was %s, now %s\n", host, before, after)
	return nil
}
