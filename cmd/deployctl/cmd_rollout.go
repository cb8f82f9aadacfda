package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
)

// Defaults of the rollout flags.
const (
	DefaultLockWait = 0 * time.Second
)

// RolloutOptions are the flags of rollout (and rollback).
type RolloutOptions struct {
	Initial           bool
	LockWait          time.Duration
	Message           string
	Yes               bool
	ConfigOnly        bool
	AllowSchemaChange bool
}

func (o *RolloutOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&o.LockWait, "lock-wait", DefaultLockWait, "wait this long for another deploy's lock before giving up (exit 5)")
	f.StringVarP(&o.Message, "message", "m", "", "why: shown to anyone who finds the lock, and in history")
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation at a terminal (without a terminal nothing is asked)")
	f.BoolVar(&o.AllowSchemaChange, "allow-schema-change", false, "allow a rev that raises schema_version_file (a rollback below it will be refused)")
}

func newRolloutCommand(g *GlobalOptions) *cobra.Command {
	var opts RolloutOptions
	cmd := &cobra.Command{
		Use:   "rollout <ref> | --config-only [<ref>]",
		Short: "Roll <ref> out host by host; on any failure return every changed host to last good",
		Long: `Lock the environment, resolve <ref> to one rev, check every host (preflight),
stage the release everywhere, then take the hosts through the pipeline group by
group, batch by batch: depool, stop, activate, start, wait for the port, checks,
repool, soak. On any failure the failed hosts and then every changed host, in
reverse order, return to what each ran before the rollout (its restore point,
read in preflight) through the same pipeline. A host is never stopped while
pooled; a host someone else depooled is deployed but left out of the pool.

The first rollout of an environment: when every host already runs the same rev
it is taken as last good; hosts that run different revs each return to their
own. If some hosts run nothing yet, --initial is needed: a host that fails and
ran nothing is then depooled, stopped and named (exit 4).

Interrupt (SIGINT, SIGTERM, SIGHUP) or 'deployctl abort' from elsewhere: the
rollout stops at the next step boundary and rolls back. A second interrupt stops
the rollback too (exit 130), leaving the state recorded for 'deployctl abort'.` + exitStatusHelp,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := deploy.Request{Verb: "rollout", ConfigOnly: opts.ConfigOnly}
			if len(args) == 1 {
				req.Ref = args[0]
			} else if !opts.ConfigOnly {
				return usageErrorf("rollout needs a <ref> (only --config-only may omit it)")
			}
			return runRollout(cmd.Context(), g, opts, req)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().BoolVar(&opts.Initial, "initial", false, "first rollout of the environment: there is no last good to return to")
	cmd.Flags().BoolVar(&opts.ConfigOnly, "config-only", false, "change configuration, keep the code: templates from <ref> (default: the last good rev)")
	return cmd
}

// runRollout runs one request (rollout, rollback, promote) and prints its
// summary: the lifecycle is deploy.Deployer's.
func runRollout(ctx context.Context, g *GlobalOptions, opts RolloutOptions, req deploy.Request) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	req.Initial, req.AllowSchemaChange, req.Message = opts.Initial, opts.AllowSchemaChange, opts.Message
	req.LockWait, req.Yes = opts.LockWait, opts.Yes || g.Output == outputJSON
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	defer printer.Close()
	work, rb, stop := interruptible(ctx, g.stderr)
	defer stop()
	res, err := a.deployer(printer).Rollout(work, rb, req)
	if res == nil {
		return err
	}
	printer.Summary(res, res.Summary(req.Verb))
	return reported(err)
}

// reported marks a run's error as told by the summary, so main prints
// only what the summary did not say.
func reported(err error) error {
	if err == nil || errors.Is(err, deploy.ErrRecord) {
		return err
	}
	return &silentError{err}
}

// silentError is an error the summary already printed; main exits with its
// code without printing it again.
type silentError struct{ err error }

func (s *silentError) Error() string   { return s.err.Error() }
func (s *silentError) Unwrap() []error { return []error{s.err, errSilent} }

// interruptible returns the work context (cancelled by the first SIGINT,
// SIGTERM or SIGHUP) and the rollback context (cancelled by the second).
// SIGPIPE is ignored: a closed stdout must not kill a rollout half way;
// writes to it fail instead. An abort request from another process is
// deploy's to watch.
func interruptible(ctx context.Context, stderr io.Writer) (work, rb context.Context, stop func()) {
	base := context.WithoutCancel(ctx)
	work, cancelWork := context.WithCancelCause(base)
	rbctx, cancelRb := context.WithCancelCause(base)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, interruptSignals...)
	signal.Ignore(syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case s := <-sigs:
				if n == 1 {
					fmt.Fprintf(stderr, "\n%s: stopping at the next step and rolling back (again to stop the rollback too)\n", s)
					cancelWork(fmt.Errorf("%w: %s", errSignal, s))
					continue
				}
				fmt.Fprintf(stderr, "\n%s again: stopping the rollback at the next step; run 'deployctl abort' to finish it\n", s)
				cancelRb(fmt.Errorf("%w twice: %s", errSignal, s))
				return
			}
		}
	}()
	return work, rbctx, func() {
		signal.Stop(sigs)
		close(done)
		cancelWork(nil)
		cancelRb(nil)
	}
}

// errSignal is the cause of a cancellation by a signal.
var errSignal = errors.New("signal")

// interruptSignals stop a rollout at the next step boundary and roll it
// back: an operator's ^C, a service manager's stop, and the operator's SSH
// session dropping.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
