package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/state"
)

// PromoteOptions are the flags of promote.
type PromoteOptions struct {
	RolloutOptions
	From, To string
}

func newPromoteCommand(g *GlobalOptions) *cobra.Command {
	var opts PromoteOptions
	cmd := &cobra.Command{
		Use:   "promote --from <env> --to <env>",
		Short: "Replay the last good deploy of one environment (e.g. staging) to another (e.g. production)",
		Long: `Replay to --to exactly the deploy that is last good in --from: the same kind
(code, config, or both) and the same pinned revs, through --to's own
configuration, pipeline and checks.` + exitStatusHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runPromote(cmd.Context(), g, opts) },
	}
	opts.addFlags(cmd)
	cmd.Flags().StringVar(&opts.From, "from", "", "the `env` whose last good deploy is replayed (required)")
	cmd.Flags().StringVar(&opts.To, "to", "", "the `env` to deploy to (required)")
	return cmd
}

func runPromote(ctx context.Context, g *GlobalOptions, opts PromoteOptions) error {
	if opts.From == "" || opts.To == "" || opts.From == opts.To {
		return usageErrorf("promote needs --from and --to, two different environments")
	}
	p, err := inventory.Open(g.Config)
	if err != nil {
		return err
	}
	from, err := p.Env(opts.From)
	if err != nil {
		return err
	}
	store, closeStore, err := g.openStore(ctx, from)
	if err != nil {
		return err
	}
	defer closeStore()
	req, good, err := deploy.Promotion(store, opts.From)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "promote %s: %s deploy of %s (%s) from %s\n", opts.To, orCode(good.Kind), good.Ref, gitsrc.Short(good.Rev), opts.From)
	g.Env = opts.To
	return runRollout(ctx, g, opts.RolloutOptions, req)
}

func orCode(k state.Kind) state.Kind {
	if k == "" {
		return state.KindCode
	}
	return k
}
