package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// HistoryOptions are the flags of history.
type HistoryOptions struct {
	Limit int
}

func newHistoryCommand(g *GlobalOptions) *cobra.Command {
	var opts HistoryOptions
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past rollouts: who, when, ref, rev, result, duration, failed host and reason",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runHistory(cmd.Context(), g, opts) },
	}
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 20, "show the last `n` rollouts (0: all)")
	return cmd
}

func runHistory(ctx context.Context, g *GlobalOptions, opts HistoryOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	recs, err := a.deployer(nil).History(opts.Limit)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		enc := json.NewEncoder(g.stdout)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tREF\tREV\tRESULT\tDURATION\tFAILED\tREASON")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s@%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.UTC().Format(time.RFC3339), r.User, r.Host, r.Ref, gitsrc.Short(r.Rev), r.Result,
			r.Duration.Round(time.Millisecond), r.FailedHost, truncate(r.Reason, 100))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
