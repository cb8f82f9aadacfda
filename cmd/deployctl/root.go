package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/state"
)

// Exit codes, the one table (DESIGN.md).
const (
	exitOK             = 0
	exitError          = 1 // error before any host changed
	exitUsage          = 2 // usage or configuration error
	exitRolledBack     = 3 // a step failed and every changed host is back on last good
	exitRollbackFailed = 4 // rollback failed: named hosts need a person
	exitLocked         = 5 // environment locked by another deploy
	exitRecord         = 6 // the fleet is as reported, but the state or history could not be written
	exitInterrupted    = 130
)

const exitStatusHelp = `

Exit status: 0 done, 1 error before any host changed, 2 usage or configuration
error, 3 rolled back, 4 rollback failed (named hosts need a person; also after
a panic), 5 locked (or held by an unfinished rollout: abort it), 6 the fleet
is as reported but the state or history could not be written, 130
interrupted.`

// exitCode maps an error to the exit code table.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case isUsage(err), errors.Is(err, inventory.ErrInvalid), errors.Is(err, deploy.ErrUsage):
		return exitUsage
	case errors.Is(err, configset.ErrTemplate):
		return exitError
	case errors.Is(err, state.ErrLocked), errors.Is(err, deploy.ErrUnfinished):
		return exitLocked
	case errors.Is(err, deploy.ErrRollbackFailed), errors.Is(err, deploy.ErrPanic):
		return exitRollbackFailed
	case errors.Is(err, deploy.ErrRolledBack):
		return exitRolledBack
	case errors.Is(err, deploy.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, deploy.ErrRecord):
		return exitRecord
	}
	return exitError
}

func newRootCommand(g *GlobalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "deployctl",
		Short: "Roll code and configuration across a fleet, host by host, with automatic rollback",
		Long: `deployctl rolls a service's code or configuration across a fleet from a deploy
host: each host is depooled, stopped, switched to the pinned revision, started,
checked, and repooled; any failure puts every changed host back on the last
good revision.` + exitStatusHelp,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.validate() },
	}
	g.addFlags(root)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	root.AddCommand(
		newVersionCommand(g),
		newInitCommand(g),
		newValidateCommand(g),
		newHostsCommand(g),
		newPlanCommand(g),
		newCompletionCommand(g),
		newRolloutCommand(g),
		newRollbackCommand(g),
		newAbortCommand(g),
		newStatusCommand(g),
		newHistoryCommand(g),
		newLockCommand(g),
		newStateCommand(g),
		newStageCommand(g),
		newPoolCommand(g),
		newCheckCommand(g),
		newDiffCommand(g),
		newPromoteCommand(g),
	)
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	return runWithInput(args, os.Stdin, os.Stdout, os.Stderr)
}

// runWith runs with no input: nothing is ever asked (as in CI).
func runWith(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, nil, stdout, stderr)
}

func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer exitOnPanic(stderr, &code)
	g := &GlobalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals...)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(stderr, "deployctl:", err)
		}
		if isArgsError(err) {
			return exitUsage
		}
	}
	return exitCode(err)
}

// exitOnPanic, deferred, turns a panic outside the engine (which recovers
// its own and rolls back) into exit 4 with the panic on stderr: a failure
// a person must look at, not Go's exit 2, which is a usage error's code.
func exitOnPanic(stderr io.Writer, code *int) {
	if v := recover(); v != nil {
		fmt.Fprintf(stderr, "deployctl: panic: %v\n%s", v, debug.Stack())
		*code = exitRollbackFailed
	}
}

// errSilent marks an error whose message the command already printed.
var errSilent = errors.New("already reported")

// isArgsError recognises cobra's unknown-command error, which it returns as
// a plain error.
func isArgsError(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command")
}

// usageArgs wraps a cobra argument validator so its errors are usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageErrorf("%s: %v", cmd.CommandPath(), err)
		}
		return nil
	}
}
