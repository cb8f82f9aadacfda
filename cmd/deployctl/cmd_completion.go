package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print a shell completion script",
		Long:      "Print a shell completion script. For bash: source <(deployctl completion bash)",
		Args:      usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompletion(cmd.Root(), g, args[0])
		},
	}
}

func runCompletion(root *cobra.Command, g *GlobalOptions, shell string) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(g.stdout, true)
	case "zsh":
		return root.GenZshCompletion(g.stdout)
	case "fish":
		return root.GenFishCompletion(g.stdout, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(g.stdout)
	}
	return usageErrorf("unknown shell %q", shell)
}
