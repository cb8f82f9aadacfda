package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
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
		RunE:  func(c *cobra.Command, _ []string) error { return runLockStatus(c.Context(), g) },
	})
	var opts LockOptions
	rel := &cobra.Command{
		Use:   "release --force",
		Short: "Clear a stale lock left by a deployctl that died (refused while the holder lives)",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(c *cobra.Command, _ []string) error { return runLockRelease(c.Context(), g, opts) },
	}
	rel.Flags().BoolVar(&opts.Force, "force", false, "required: confirms the lock is to be cleared")
	cmd.AddCommand(rel)
	return cmd
}

func runLockStatus(ctx context.Context, g *GlobalOptions) error {
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	o, alive, err := a.deployer(nil).Lock()
	switch {
	case err != nil:
		return err
	case o == nil && !alive:
		fmt.Fprintf(g.stdout, "%s: free\n", a.env.Name)
	case alive:
		fmt.Fprintf(g.stdout, "%s: held by %v\n", a.env.Name, o)
	default:
		fmt.Fprintf(g.stdout, "%s: stale lock of %s (its process is gone): deployctl lock release --force clears it\n", a.env.Name, o)
	}
	return nil
}

func runLockRelease(ctx context.Context, g *GlobalOptions, opts LockOptions) error {
	if !opts.Force {
		return usageErrorf("lock release needs --force")
	}
	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	o, err := a.deployer(nil).ReleaseStaleLock()
	if err != nil {
		return err
	}
	if o == nil {
		fmt.Fprintf(g.stdout, "%s: no lock to clear\n", a.env.Name)
		return nil
	}
	fmt.Fprintf(g.stdout, "%s: cleared the stale lock of %s\n", a.env.Name, o)
	return nil
}
