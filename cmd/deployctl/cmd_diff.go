package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newDiffCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "diff [<ref>]",
		Short: "Show the configuration each host would get against what is live, changing nothing",
		Long: `Render the config templates of <ref> (default: the last good rev's) for every
host and print a unified diff against the files live on the host. Changes
nothing. A template error names the template file and line.`,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			return runDiff(cmd.Context(), g, ref)
		},
	}
}

func runDiff(ctx context.Context, g *GlobalOptions, ref string) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	out, err := a.deployer(printer).Diff(ctx, ref)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(out)
	}
	changed := 0
	for _, d := range out {
		switch {
		case d.Error != "":
			fmt.Fprintf(g.stdout, "# %s: %s\n", d.Host, d.Error)
		case len(d.Diffs) == 0:
			fmt.Fprintf(g.stdout, "# %s: config %s is live, no change\n", d.Host, d.Version)
		default:
			changed++
			fmt.Fprintf(g.stdout, "# %s: config %s -> %s\n", d.Host, orNone(d.Live), d.Version)
			for _, diff := range d.Diffs {
				fmt.Fprint(g.stdout, diff)
			}
		}
	}
	fmt.Fprintf(g.stdout, "%d of %d hosts would change\n", changed, len(out))
	return nil
}
