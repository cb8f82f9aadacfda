package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
)

// RollbackOptions are the flags of rollback.
type RollbackOptions struct {
	RolloutOptions
	To string
}

func newRollbackCommand(g *GlobalOptions) *cobra.Command {
	var opts RollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback [--to <ref>]",
		Short: "Deliberately return to the previous good rev (or --to a ref) through the same pipeline",
		Long: `Return the environment to the rev that was good before the last good one (or
to --to <ref>), host by host through the same pipeline and checks as a rollout.
If the return itself fails, hosts go back to the current last good.` + exitStatusHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRollback(cmd.Context(), g, opts) },
	}
	opts.addFlags(cmd)
	cmd.Flags().StringVar(&opts.To, "to", "", "the `ref` to return to (default: the previous good rev)")
	return cmd
}

func runRollback(ctx context.Context, g *GlobalOptions, opts RollbackOptions) error {
	if opts.To != "" {
		fmt.Fprintf(g.stderr, "rolling back to %s\n", opts.To)
	}
	return runRollout(ctx, g, opts.RolloutOptions, deploy.Request{Verb: "rollback", Ref: opts.To})
}
