package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
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

// abortCrashed returns every host to last good itself.
func abortCrashed(ctx context.Context, g *GlobalOptions, a *app, opts AbortOptions) error {
	env := a.env.Name
	lock, err := a.store.Lock(ctx, env, a.owner("abort", opts.Message), state.NoWait)
	if err != nil {
		return err
	}
	defer lock.Release()
	a.store.ClearAbort(env)
	st, err := a.store.Load(env)
	if err != nil {
		return err
	}
	good, err := st.Good()
	if err != nil {
		return fmt.Errorf("%w: no last good rev recorded for %s, so there is nothing to return to", deploy.ErrNoLastGood, env)
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	defer printer.Close()
	e := a.engine(printer.Event)
	e.Hold(st.Held)
	var hosts []string
	for _, h := range a.env.Hosts {
		hosts = append(hosts, h.Name)
	}
	if st.Current != nil {
		fmt.Fprintf(g.stderr, "rollout %s of %s by %s did not finish (phase %s, host %s, step %s); returning every host to %s\n",
			st.Current.ID, st.Current.Ref, st.Current.By, st.Current.Phase, st.Current.Host, st.Current.Step, shortRev(good.Rev))
	}
	if st.Schema > good.Schema && good.Schema > 0 {
		return fmt.Errorf("%w: last good %s has schema version %d, but %d is deployed; the storage will not go back. Commit a change raising %s to %d on top of %s and roll that out",
			ErrSchema, shortRev(good.Rev), good.Schema, st.Schema, a.env.SchemaVersionFile, st.Schema, shortRev(good.Rev))
	}
	started := time.Now()
	res, rerr := e.Restore(ctx, good.Rev, good.Configs, hosts)
	if res.Outcome == deploy.OutcomeDone {
		st.Current = nil
		st.Held = nil
		for _, h := range hosts {
			st.SetHost(h, state.HostRev{Rev: good.Rev, At: time.Now()})
		}
	}
	if err := a.store.Save(env, st); err != nil {
		return errors.Join(rerr, err)
	}
	result := state.ResultAborted
	if rerr != nil {
		result = state.ResultRollbackFailed
	}
	a.store.Append(env, state.Record{ID: state.NewID(started), Env: env, Kind: state.KindCode, Ref: "abort", Rev: good.Rev, PreviousRev: good.Rev,
		User: lock.Owner.User, Host: lock.Owner.Host, PID: lock.Owner.PID, Started: started, Finished: time.Now(), Duration: res.Duration,
		Result: result, Reason: res.Reason, HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled})
	printer.Summary(res, fmt.Sprintf("abort: %d hosts returned to %s%s", len(res.Changed), shortRev(good.Rev), leftText(res.LeftDepooled)))
	return rerr
}

func leftText(left []string) string {
	if len(left) == 0 {
		return ""
	}
	return fmt.Sprintf("; NEEDS A PERSON: left depooled: %v", left)
}
