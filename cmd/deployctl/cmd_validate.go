package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/inventory"
)

func newValidateCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration of every environment (or --env) and report every problem",
		Long: `Check the configuration: strict keys, required fields, hosts and groups,
placeholders. Every problem is reported at once with file:line and field path.
Changes nothing.` + exitStatusHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error { return runValidate(g) },
	}
}

type validateResult struct {
	OK           bool                `json:"ok"`
	Config       string              `json:"config"`
	Environments []string            `json:"environments"`
	Problems     []inventory.Problem `json:"problems,omitempty"`
}

func runValidate(g *GlobalOptions) error {
	res := validateResult{Config: g.Config}
	p, err := inventory.Open(g.Config)
	if err == nil {
		res.Environments = p.Envs()
		if g.Env != "" {
			res.Environments = []string{g.Env}
			_, err = p.Env(g.Env)
		} else {
			err = p.ValidateAll()
		}
	}
	var probs inventory.Errors
	if errors.As(err, &probs) {
		res.Problems = probs
	} else if err != nil {
		return err
	}
	res.OK = len(res.Problems) == 0
	if g.Output == outputJSON {
		if err := json.NewEncoder(g.stdout).Encode(res); err != nil {
			return err
		}
	} else if res.OK {
		fmt.Fprintf(g.stdout, "%s: ok (%d environments: %v)\n", g.Config, len(res.Environments), res.Environments)
	} else {
		for _, pr := range res.Problems {
			fmt.Fprintln(g.stderr, pr.String())
		}
		fmt.Fprintf(g.stderr, "%d problems\n", len(res.Problems))
	}
	if !res.OK {
		return fmt.Errorf("%w: %w", errSilent, inventory.ErrInvalid)
	}
	return nil
}
