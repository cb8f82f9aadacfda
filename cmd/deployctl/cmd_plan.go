package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
)

func newPlanCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "plan <ref>",
		Short: "Show what a rollout of <ref> would do, changing nothing",
		Long: `Resolve <ref> (tag, branch, short or full hash) to one commit and print the
plan: groups and batches in order, each host's steps with every command filled
in, and the checks that will run. Changes nothing.` + exitStatusHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), g, args[0])
		},
	}
}

func runPlan(ctx context.Context, g *GlobalOptions, ref string) error {
	env, err := g.loadEnv()
	if err != nil {
		return err
	}
	src, err := openSource(ctx, g, env)
	if err != nil {
		return err
	}
	rev, err := src.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	c, err := src.Describe(ctx, rev)
	if err != nil {
		return err
	}
	plan, err := deploy.BuildPlan(env, ref, rev, &deploy.Commit{Subject: c.Subject, Author: c.Author, Time: c.Time})
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	return printPlan(g.stdout, plan)
}

// openSource opens the environment's code source; URL sources are cached
// under the state directory.
func openSource(ctx context.Context, g *GlobalOptions, env *inventory.Env) (*gitsrc.Source, error) {
	repo := env.Source.Repo
	if !gitsrc.IsURL(repo) {
		repo = env.Project.Resolve(repo)
	}
	state, _, err := g.stateDir(env)
	if err != nil {
		return nil, err
	}
	return gitsrc.Open(ctx, repo, filepath.Join(state, "sources"))
}

func printPlan(w io.Writer, p *deploy.Plan) error {
	fmt.Fprintf(w, "Plan: %s to %s\n", p.App, p.Env)
	fmt.Fprintf(w, "  ref          %s\n", p.Ref)
	fmt.Fprintf(w, "  rev          %s\n", p.Rev)
	if p.Commit != nil {
		fmt.Fprintf(w, "  commit       %s (%s, %s)\n", p.Commit.Subject, p.Commit.Author, p.Commit.Time.UTC().Format("2006-01-02 15:04:05Z"))
	}
	fmt.Fprintf(w, "  pool         %s\n", p.Pool)
	fmt.Fprintf(w, "  batch size   %s, failure limit %d, canary wait %s\n", p.BatchSize, p.FailureLimit, p.CanaryWait)
	fmt.Fprintln(w)
	for _, grp := range p.Groups {
		fmt.Fprintf(w, "Group %s\n", grp.Name)
		for i, b := range grp.Batches {
			fmt.Fprintf(w, "  batch %d: %s\n", i+1, strings.Join(b, ", "))
		}
	}
	for _, h := range p.Hosts {
		fmt.Fprintf(w, "\nHost %s (%s), group %s, batch %d\n", h.Name, h.Address, h.Group, h.Batch)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i, s := range h.Steps {
			fmt.Fprintf(tw, "  %d\t%s\t%s\n", i+1, s.Step, s.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nChecks")
	if len(p.Checks) == 0 {
		fmt.Fprintln(w, "  none")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range p.Checks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Name, c.Type, c.Stage, c.Timeout, c.Target)
	}
	return tw.Flush()
}
