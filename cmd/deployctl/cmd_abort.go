package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// DefaultAbortWait bounds how long abort waits for a running rollout to
// finish rolling back.
const DefaultAbortWait = 15 * time.Minute

// AbortOptions are the flags of abort.
type AbortOptions struct {
	Wait    time.Duration
	Message string
}

func newAbortCommand(g *GlobalOptions) *cobra.Command {
	var opts AbortOptions
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Stop the running rollout and return every host to last good",
		Long: `Stop a rollout from another terminal or a CI job. A running rollout stops at
its next step boundary and returns every changed host to last good; abort waits
for it (up to --wait) and reports how it ended. If no process holds the
rollout (the deploy host crashed, or a second interrupt stopped it), abort
itself returns every host that is not on last good, through the same pipeline.` + exitStatusHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runAbort(cmd.Context(), g, opts) },
	}
	cmd.Flags().DurationVar(&opts.Wait, "wait", DefaultAbortWait, "how long to wait for a running rollout to finish rolling back")
	cmd.Flags().StringVarP(&opts.Message, "message", "m", "", "why: recorded with the abort")
	return cmd
}

func runAbort(ctx context.Context, g *GlobalOptions, opts AbortOptions) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	defer printer.Close()
	out, err := a.deployer(printer).Abort(ctx, opts.Message, opts.Wait)
	switch {
	case out == nil:
		return err
	case out.Stopped != nil:
		r := out.Stopped
		if g.Output == outputJSON {
			json.NewEncoder(g.stdout).Encode(map[string]any{"type": "summary", "summary": r})
		} else {
			fmt.Fprintf(g.stdout, "rollout %s (%s) ended: %s; hosts changed %v; left depooled %v\n", r.ID, r.Ref, r.Result, r.HostsChanged, r.HostsLeftDepooled)
		}
		return err
	case out.Restored != nil:
		printer.Summary(out.Restored, "abort: "+out.Restored.EndedText())
		return reported(err)
	}
	return err
}
