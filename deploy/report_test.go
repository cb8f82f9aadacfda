package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/state"
)

// fakeNotifier keeps what it was sent, and fails when told to.
type fakeNotifier struct {
	mu   sync.Mutex
	sent []notify.Event
	fail error
}

func (n *fakeNotifier) Send(_ context.Context, ev notify.Event) []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, ev)
	if n.fail != nil {
		return []error{n.fail}
	}
	return nil
}

func (n *fakeNotifier) kinds() []notify.Kind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notify.Kind
	for _, ev := range n.sent {
		out = append(out, ev.Kind)
	}
	return out
}

// A good rollout, then one rolled back: each announces its start and how
// it ended, and the metrics textfile counts both, in the state too.
func TestDeployerReportsMetricsAndNotifications(t *testing.T) {
	f := newFleet(hosts(3), good)
	st := &fakeStore{st: state.State{LastGood: state.Good{Rev: good}}}
	d, ui := testDeployer(t, 3, f, st, fakeSource{refs: map[string]string{"v2": next, "v3": other}}, "")
	n := &fakeNotifier{}
	prom := filepath.Join(t.TempDir(), "deployctl.prom")
	d.Notify, d.Metrics = n, deploymetrics.Config{Textfile: prom}
	ctx := context.Background()

	if _, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "v2"}); err != nil {
		t.Fatal(err)
	}
	failOn(f, other, "h2")
	if _, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "v3"}); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("bad rollout: %v", err)
	}
	if got, want := n.kinds(), []notify.Kind{notify.KindStart, notify.KindFinish, notify.KindStart, notify.KindRollback}; !slices.Equal(got, want) {
		t.Errorf("notifications %v, want %v", got, want)
	}
	if last := n.sent[3]; last.Rev != other || last.FailedHost != "h2" || last.Outcome != string(OutcomeRolledBack) || last.Env != "test" || last.App != "app" {
		t.Errorf("rollback notification %+v", last)
	}
	c := st.st.Metrics
	if c.Rollouts.Done != 1 || c.Rollouts.RolledBack != 1 || c.Rollbacks != 1 || c.InProgress || c.Rev != next {
		t.Errorf("stored counters %+v", c)
	}
	text, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`deployctl_rollouts_total{app="app",env="test",outcome="done"} 1`,
		`deployctl_rollouts_total{app="app",env="test",outcome="rolled-back"} 1`,
		`deployctl_rollout_in_progress{app="app",env="test"} 0`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("textfile lacks %s:\n%s", want, text)
		}
	}

	// Failing notifications and metrics are told and change nothing.
	n.fail = errors.New("chat is down")
	d.Metrics = deploymetrics.Config{Textfile: filepath.Join(t.TempDir(), "missing", "dir", "x.prom")}
	f.onStep = nil
	res, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "v3"})
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("rollout with failing reports: %v", err)
	}
	notes := strings.Join(ui.notes, "\n")
	if !strings.Contains(notes, "chat is down") || !strings.Contains(notes, "deploy metrics") {
		t.Errorf("failures not told:\n%s", notes)
	}
}
