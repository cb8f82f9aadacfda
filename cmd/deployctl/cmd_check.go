package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/checks"
)

// DefaultCheckWindow is how long `check` watches logs between its baseline
// and its judgement.
const DefaultCheckWindow = 5 * time.Second

// CheckOptions are the flags of check.
type CheckOptions struct {
	Host   string
	Stage  string
	Window time.Duration
}

func newCheckCommand(g *GlobalOptions) *cobra.Command {
	var opts CheckOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the configured checks against the live hosts, changing nothing",
		Long: `Run the checks of every stage (or --stage) against every host (or --host),
changing nothing. Log checks judge the entries written during --window. Each
result says what it saw. Exit 1 when any check fails.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runCheck(c.Context(), g, opts) },
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "only this `host`")
	cmd.Flags().StringVar(&opts.Stage, "stage", "", "only this stage: depooled, pooled or canary")
	cmd.Flags().DurationVar(&opts.Window, "window", DefaultCheckWindow, "how long log checks watch before judging")
	return cmd
}

var errChecksFailed = errors.New("checks failed")

func runCheck(ctx context.Context, g *GlobalOptions, opts CheckOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	stages := []checks.Stage{checks.StageDepooled, checks.StagePooled, checks.StageCanary}
	if opts.Stage != "" {
		st, err := checks.ParseStage(opts.Stage)
		if err != nil {
			return usageErrorf("--stage: %v", err)
		}
		stages = []checks.Stage{st}
	}
	var hosts []string
	for _, h := range a.env.Hosts {
		if opts.Host == "" || opts.Host == h.Name {
			hosts = append(hosts, h.Name)
		}
	}
	if len(hosts) == 0 {
		return usageErrorf("unknown host %q in %s", opts.Host, a.env.Name)
	}
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	rows, runErr := a.deployer(printer).Check(ctx, hosts, stages, opts.Window)
	failed := 0
	for _, r := range rows {
		if r.Verdict == checks.Fail.String() {
			failed++
		}
	}
	if g.Output == outputJSON {
		enc := json.NewEncoder(g.stdout)
		for _, r := range rows {
			enc.Encode(r)
		}
	} else {
		for _, r := range rows {
			fmt.Fprintf(g.stdout, "%-10s %-20s %-8s %-9s %-5s %s\n", r.Host, r.Check, r.Type, r.Stage, r.Verdict, r.Duration.Round(time.Millisecond))
			if r.Evidence != "" {
				fmt.Fprintf(g.stdout, "    saw: %s\n", indent(r.Evidence, "         "))
			}
			if r.Error != "" {
				fmt.Fprintf(g.stdout, "    error: %s\n", indent(r.Error, "           "))
			}
		}
		fmt.Fprintf(g.stdout, "%d checks, %d failed\n", len(rows), failed)
	}
	if runErr != nil {
		return runErr
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errChecksFailed, failed, len(rows))
	}
	return nil
}
