package deploy

import (
	"context"
	"time"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/state"
)

// reportBound bounds the notifications and the metrics write at one point
// of a run, whatever the receivers do.
const reportBound = 30 * time.Second

// Notifier delivers deploy notifications (pkg/notify): best effort, each
// target bounded by its own timeout.
type Notifier interface {
	Send(ctx context.Context, ev notify.Event) []error
}

// announce sends ev to the notification targets. A failing notification
// is told to the operator and changes nothing else.
func (d *Deployer) announce(ctx context.Context, ev notify.Event) {
	if d.Notify == nil {
		return
	}
	ev.App, ev.Env = d.Env.App, d.Env.Name
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportBound)
	defer cancel()
	for _, err := range d.Notify.Send(ctx, ev) {
		d.UI.Note("note: notification (" + string(ev.Kind) + ") failed: " + err.Error())
	}
}

// writeMetrics writes the environment's deploy metrics where configured;
// a failure is told to the operator and changes nothing else.
func (d *Deployer) writeMetrics(ctx context.Context, c deploymetrics.Counters) {
	if !d.Metrics.Enabled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportBound)
	defer cancel()
	if err := deploymetrics.Write(ctx, d.Metrics, d.Env.App, d.Env.Name, c); err != nil {
		d.UI.Note("note: deploy metrics: " + err.Error())
	}
}

// finishKind is the notification of how a run ended.
func finishKind(o Outcome) notify.Kind {
	switch o {
	case OutcomeDone:
		return notify.KindFinish
	case OutcomeRolledBack:
		return notify.KindRollback
	}
	return notify.KindFailure
}

// runEvent is the notification of a run, from its record and result.
func runEvent(kind notify.Kind, c *state.Rollout, res *Result) notify.Event {
	ev := notify.Event{Kind: kind, Ref: c.Ref, Rev: c.Rev, ConfigVersion: c.ConfigVersion, RolloutID: c.ID,
		User: c.By.User, DeployHost: c.By.Host, Started: c.Started}
	if res != nil {
		ev.PreviousRev, ev.Outcome, ev.Reason, ev.FailedHost = res.LastGood, string(res.Outcome), res.Reason, res.FailedHost
		ev.HostsChanged, ev.HostsLeftDepooled = res.Changed, res.LeftDepooled
		ev.Finished, ev.Duration = c.Started.Add(res.Duration), res.Duration
	}
	return ev
}

// countFinish adds a finished run to the counters: what the environment
// runs now is the new rev when it is done, else last good.
func countFinish(st *state.State, res *Result, p *prepared) {
	rev, cv := st.LastGood.Rev, st.LastGood.ConfigVersion
	if res.Outcome == OutcomeDone {
		rev, cv = res.Rev, p.configVersion
	}
	rolledBack := res.Outcome == OutcomeRolledBack || res.Outcome == OutcomeRollbackFailed
	st.Metrics.Finish(string(res.Outcome), res.Duration, len(res.Changed), rolledBack, rev, cv, time.Now())
}
