package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/inventory"
)

// InitOptions are the flags of init.
type InitOptions struct {
	Dir string
}

func newInitCommand(g *GlobalOptions) *cobra.Command {
	var opts InitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter deployctl.yaml and a staging environment file",
		Long: `Write a commented starter configuration: deployctl.yaml and
environments/staging/inventory.yaml. Existing files are never overwritten.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error { return runInit(g, opts) },
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", ".", "`directory` to write into")
	return cmd
}

func runInit(g *GlobalOptions, opts InitOptions) error {
	wrote, err := inventory.WriteStarter(opts.Dir)
	for _, f := range wrote {
		fmt.Fprintln(g.stdout, "wrote", f)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, "next: edit them, then run: deployctl validate")
	return nil
}
