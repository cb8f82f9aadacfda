package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/state"
)

// breakState makes every save of env's state fail, even as root: a
// directory stands where state.json is renamed to.
func breakState(t *testing.T, dir, env string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "envs", env, "state.json")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "envs", env, "state.json", "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A state save that fails during a rollout stops the work (a later abort
// would not know where it was), and the end of the rollout is an error
// with the record's exit code, even when every host is done.
func TestRecorderFailedSaveStopsTheRollout(t *testing.T) {
	dir := t.TempDir()
	store, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var stopped error
	r := &recorder{store: store, env: "prod", stop: func(cause error) { stopped = cause },
		st: state.State{Current: &state.Rollout{ID: "r1", Kind: state.KindCode, Ref: "v2", Rev: "2222", Started: time.Now()}}}
	r.event(deploy.Event{Type: deploy.EventPhase, Phase: "promote", Time: time.Now()})
	if stopped != nil {
		t.Fatalf("a save that worked stopped the rollout: %v", stopped)
	}
	breakState(t, dir, "prod")
	r.event(deploy.Event{Type: deploy.EventStep, Step: deploy.StepStop.String(), Status: deploy.StatusStart, Host: "h1", Time: time.Now()})
	if !errors.Is(stopped, errRecord) {
		t.Fatalf("after a failed save the rollout was stopped with %v, want %v", stopped, errRecord)
	}
	err = r.finish(&deploy.Result{Outcome: deploy.OutcomeDone, Ref: "v2", Rev: "2222"}, &deployment{}, "r1", state.Owner{User: "ops"}, "")
	if !errors.Is(err, errRecord) || exitCode(err) != exitRecord {
		t.Errorf("finish after a failed save: %v (exit %d), want exit %d", err, exitCode(err), exitRecord)
	}
}
