package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// StageOptions are the flags of stage.
type StageOptions struct {
	RolloutOptions
}

func newStageCommand(g *GlobalOptions) *cobra.Command {
	var opts StageOptions
	cmd := &cobra.Command{
		Use:   "stage <ref>",
		Short: "Put the release of <ref> on every host without activating it",
		Long: `Resolve <ref> and stream its release to every host in parallel, into
<deploy_dir>/<app>/revs/<rev>, without touching the running service. A host
that already has it intact receives nothing. A later rollout of the same rev
then sends nothing.` + exitStatusHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runStage(cmd.Context(), g, opts, args[0]) },
	}
	opts.addFlags(cmd)
	return cmd
}

func runStage(ctx context.Context, g *GlobalOptions, opts StageOptions, ref string) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	rev, err := a.deployer(printer).Stage(ctx, ref, opts.Message, opts.LockWait)
	if rev == "" {
		return err
	}
	printer.Summary(map[string]any{"ref": ref, "rev": rev, "ok": err == nil}, fmt.Sprintf("stage %s (%s): %s", ref, gitsrc.Short(rev), okText(err)))
	return err
}

func okText(err error) string {
	if err != nil {
		return "failed"
	}
	return "done"
}
