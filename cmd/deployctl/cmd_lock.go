package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/pkg/state"
)

// LockOptions are the flags of lock release.
type LockOptions struct {
	Force bool
}

func newLockCommand(g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Show or clear the environment's deploy lock",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show who holds the lock",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(*cobra.Command, []string) error { return runLockStatus(g) },
	})
	var opts LockOptions
	rel := &cobra.Command{
		Use:   "release --force",
		Short: "Clear a stale lock left by a deployctl that died (refused while the holder lives)",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(*cobra.Command, []string) error { return runLockRelease(g, opts) },
	}
	rel.Flags().BoolVar(&opts.Force, "force", false, "required: confirms the lock is to be cleared")
	cmd.AddCommand(rel)
	return cmd
}

func lockStore(g *GlobalOptions) (string, *state.Store, error) {
	env, err := g.loadEnv()
	if err != nil {
		return "", nil, err
	}
	dir, err := g.stateDir(env)
	if err != nil {
		return "", nil, err
	}
	s, err := openStore(dir)
	return env.Name, s, err
}

func openStore(dir string) (*state.Store, error) { return state.Open(dir) }

func runLockStatus(g *GlobalOptions) error {
	env, s, err := lockStore(g)
	if err != nil {
		return err
	}
	o, alive, err := s.Holder(env)
	switch {
	case err != nil:
		return err
	case o == nil && !alive:
		fmt.Fprintf(g.stdout, "%s: free\n", env)
	case alive:
		fmt.Fprintf(g.stdout, "%s: held by %v\n", env, o)
	default:
		fmt.Fprintf(g.stdout, "%s: stale lock of %s (its process is gone): deployctl lock release --force clears it\n", env, o)
	}
	return nil
}

func runLockRelease(g *GlobalOptions, opts LockOptions) error {
	if !opts.Force {
		return usageErrorf("lock release needs --force")
	}
	env, s, err := lockStore(g)
	if err != nil {
		return err
	}
	o, err := s.ForceRelease(env)
	if err != nil {
		return err
	}
	if o == nil {
		fmt.Fprintf(g.stdout, "%s: no lock to clear\n", env)
		return nil
	}
	fmt.Fprintf(g.stdout, "%s: cleared the stale lock of %s\n", env, o)
	return nil
}
