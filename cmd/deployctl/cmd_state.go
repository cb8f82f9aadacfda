package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

func newStateCommand(g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Move an environment's state between stores",
	}
	var to string
	migrate := &cobra.Command{
		Use:   "migrate --to etcd",
		Short: "Copy the environment's local state and history (this deploy host's state dir) into etcd",
		Long: `Copy the environment's state and history from this deploy host's state dir
into the etcd store of the configuration's state section (state: {backend:
etcd}), holding both locks. It refuses when etcd already holds a state for
the environment. Run logs stay local.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if to != inventory.StateEtcd {
				return usageErrorf("state migrate: --to etcd is the one store to migrate to")
			}
			return runStateMigrate(c.Context(), g)
		},
	}
	migrate.Flags().StringVar(&to, "to", "", "the store to copy into: etcd")
	cmd.AddCommand(migrate)
	return cmd
}

func runStateMigrate(ctx context.Context, g *GlobalOptions) error {
	env, err := g.loadEnv()
	if err != nil {
		return err
	}
	if env.State.Backend != inventory.StateEtcd {
		return usageErrorf("state migrate: %s has no etcd state store: set state: {backend: etcd} (its etcd defaults to the pool's) first", env.Name)
	}
	dir, shared, err := g.stateDir(env)
	if err != nil {
		return err
	}
	open := state.Open
	if shared {
		open = state.OpenShared
	}
	local, err := open(dir)
	if err != nil {
		return err
	}
	store, closeStore, err := g.openStore(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := store.(*etcdstate.Store).Migrate(ctx, local, env.Name); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: state and history copied from %s into etcd\n", env.Name, dir)
	return nil
}
