package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/gitsrc"
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

// statusReport is what status shows (and e2e tests read back).
type statusReport = deploy.EnvStatus

func runStatus(ctx context.Context, g *GlobalOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	rep, err := a.deployer(newEventPrinter(g.stdout, g.Output == outputJSON)).Status(ctx)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(rep)
	}
	w := g.stdout
	fmt.Fprintf(w, "environment %s\n", rep.Env)
	fmt.Fprintf(w, "  last good  %s\n", describeGood(rep.LastGood))
	fmt.Fprintf(w, "  previous   %s\n", describeGood(rep.Previous))
	switch {
	case rep.Lock != nil && rep.LockLive:
		fmt.Fprintf(w, "  lock       held by %s, for %s\n", rep.Lock, age(rep.Lock.Time))
	case rep.Lock != nil && rep.Current != nil:
		fmt.Fprintf(w, "  lock       STALE: %s died holding it mid-rollout (deployctl abort finishes its rollout)\n", rep.Lock)
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
		fmt.Fprintf(w, "  rollout    %s %s (%s) by %s: %s, phase %s, host %s, step %s, changed %v, started %s ago\n", c.ID, c.Ref, gitsrc.Short(c.Rev), c.By, live, c.Phase, c.Host, c.Step, c.ChangedHosts, age(c.Started))
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Host, orNone(gitsrc.Short(h.Rev)), h.Release, drift, pooled, weight, lb, sess, h.Error)
	}
	return tw.Flush()
}

func describeGood(g state.Good) string {
	if g.Rev == "" {
		return "none"
	}
	s := gitsrc.Short(g.Rev)
	if g.Ref != "" {
		s += " (" + g.Ref + ")"
	}
	return s + " at " + g.At.UTC().Format(time.RFC3339)
}

// age is how long ago t was, to the second ("?" when unknown).
func age(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return time.Since(t).Round(time.Second).String()
}
