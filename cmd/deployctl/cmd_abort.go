package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// DefaultAbortWait bounds how long abort waits for a running rollout to
// finish rolling back.
const DefaultAbortWait = 15 * time.Minute

// AbortOptions are the flags of abort.
type AbortOptions struct {
	Wait    time.Duration
	Message string
}

func newAbortCommand(g *GlobalOptions) *cobra.Command {
	var opts AbortOptions
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Stop the running rollout and return every host to last good",
		Long: `Stop a rollout from another terminal or a CI job. A running rollout stops at
its next step boundary and returns every changed host to last good; abort waits
for it (up to --wait) and reports how it ended. If no process holds the
rollout (the deploy host crashed, or a second interrupt stopped it), abort
itself returns every host that is not on last good, through the same pipeline.` + exitStatusHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runAbort(cmd.Context(), g, opts) },
	}
	cmd.Flags().DurationVar(&opts.Wait, "wait", DefaultAbortWait, "how long to wait for a running rollout to finish rolling back")
	cmd.Flags().StringVarP(&opts.Message, "message", "m", "", "why: recorded with the abort")
	return cmd
}

func runAbort(ctx context.Context, g *GlobalOptions, opts AbortOptions) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	env := a.env.Name
	holder, alive, err := a.store.Holder(env)
	if err != nil {
		return err
	}
	if alive {
		return abortRunning(ctx, g, a, holder, opts)
	}
	return abortCrashed(ctx, g, a, opts)
}

// abortRunning asks the running rollout to stop and waits for its lock.
func abortRunning(ctx context.Context, g *GlobalOptions, a *app, holder *state.Owner, opts AbortOptions) error {
	env := a.env.Name
	if err := a.store.RequestAbort(env, a.owner("abort", opts.Message)); err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "abort requested; waiting up to %s for %s to roll back\n", opts.Wait, holder)
	deadline := time.NewTimer(opts.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(abortPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s still holds %s after %s; the abort request stays until it sees it", holder, env, opts.Wait)
		case <-tick.C:
		}
		if _, alive, err := a.store.Holder(env); err != nil || alive {
			continue
		}
		a.store.ClearAbort(env)
		recs, err := a.store.History(env, 1)
		if err != nil || len(recs) == 0 {
			return fmt.Errorf("the rollout stopped but left no history record: check 'deployctl status'")
		}
		r := recs[0]
		if g.Output == outputJSON {
			json.NewEncoder(g.stdout).Encode(map[string]any{"type": "summary", "summary": r})
		} else {
			fmt.Fprintf(g.stdout, "rollout %s (%s) ended: %s; hosts changed %v; left depooled %v\n", r.ID, r.Ref, r.Result, r.HostsChanged, r.HostsLeftDepooled)
		}
		switch r.Result {
		case state.ResultRollbackFailed:
			return fmt.Errorf("%w: left depooled: %v", deploy.ErrRollbackFailed, r.HostsLeftDepooled)
		case state.ResultInterrupted:
			return fmt.Errorf("%w: run 'deployctl abort' again to finish the rollback", deploy.ErrInterrupted)
		}
		return nil
	}
}

// abortCrashed returns every host to what it ran before the crashed
// rollout (or to last good) itself. Hosts an operator depooled stay out.
func abortCrashed(ctx context.Context, g *GlobalOptions, a *app, opts AbortOptions) error {
	env := a.env.Name
	lock, err := a.store.Lock(ctx, env, a.owner("abort", opts.Message), state.NoWait)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := a.store.ClearAbort(env); err != nil {
		return fmt.Errorf("clearing the abort request: %w", err)
	}
	st, err := a.store.Load(env)
	if err != nil {
		return err
	}
	good := st.LastGood
	var points map[string]deploy.RestorePoint
	if st.Current != nil {
		points = restoreFromState(st.Current.Restore)
	}
	if good.Rev == "" && len(points) == 0 {
		return fmt.Errorf("%w: no last good rev recorded for %s and no rollout to undo, so there is nothing to return to", deploy.ErrNoLastGood, env)
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	defer printer.Close()
	var mu sync.Mutex
	var saveErr error
	save := func() {
		if err := a.store.Save(env, st); err != nil && saveErr == nil {
			saveErr = fmt.Errorf("%w: %w", errRecord, err)
		}
	}
	e := a.engine(printer.Event)
	if st.Current != nil {
		e.Hold(st.Current.Held)
		// Record what abort holds out of the pool as a rollout does, so a
		// later abort knows it.
		e.OnHeld = func(m map[string]pool.Prior) {
			mu.Lock()
			defer mu.Unlock()
			st.Current.Held = m
			save()
		}
		fmt.Fprintf(g.stderr, "rollout %s of %s by %s did not finish (phase %s, host %s, step %s); returning every host to what it ran before\n",
			st.Current.ID, st.Current.Ref, st.Current.By, st.Current.Phase, st.Current.Host, st.Current.Step)
	}
	if len(st.Held) > 0 {
		fmt.Fprintf(g.stderr, "note: depooled by hand and left out of the pool: %s\n", strings.Join(slices.Sorted(maps.Keys(st.Held)), " "))
	}
	var hosts []string
	for _, h := range a.env.Hosts {
		hosts = append(hosts, h.Name)
	}
	started := time.Now()
	res, rerr := e.Restore(ctx, deploy.RestoreOptions{
		LastGood: good.Rev, LastGoodConfigs: good.Configs, Points: points,
		Guard: schemaFloor(a, max(st.Schema, good.Schema)),
	}, hosts)
	mu.Lock()
	defer mu.Unlock()
	for h, rev := range res.Ended {
		st.SetHost(h, state.HostRev{Rev: rev, At: time.Now()})
	}
	if res.Outcome == deploy.OutcomeDone || res.Outcome == deploy.OutcomeRollbackFailed && res.Settled() {
		st.Current = nil // else kept for the next abort
	}
	save()
	result := state.ResultAborted
	if rerr != nil {
		result = state.ResultRollbackFailed
	}
	if err := a.store.Append(env, state.Record{ID: state.NewID(started), Env: env, Kind: state.KindCode, Ref: "abort", Rev: good.Rev, PreviousRev: good.Rev,
		User: lock.Owner.User, Host: lock.Owner.Host, PID: lock.Owner.PID, Started: started, Finished: time.Now(), Duration: res.Duration,
		Result: result, Reason: res.Reason, HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled}); err != nil && saveErr == nil {
		saveErr = fmt.Errorf("%w: history: %w", errRecord, err)
	}
	printer.Summary(res, "abort: "+endedText(res))
	if saveErr != nil {
		return errors.Join(rerr, saveErr)
	}
	return reported(rerr)
}
