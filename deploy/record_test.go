package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	r := &stateRecord{store: store, env: "prod", stop: func(cause error) { stopped = cause },
		st: state.State{Current: &state.Rollout{ID: "r1", Kind: state.KindCode, Ref: "v2", Rev: "2222", Started: time.Now()}}}
	r.phase(PhasePromote)
	if stopped != nil {
		t.Fatalf("a save that worked stopped the rollout: %v", stopped)
	}
	breakState(t, dir, "prod")
	r.changing("h1")
	if !errors.Is(stopped, ErrRecord) {
		t.Fatalf("after a failed save the rollout was stopped with %v, want %v", stopped, ErrRecord)
	}
	err = r.finish(&Result{Outcome: OutcomeDone, Ref: "v2", Rev: "2222"}, &prepared{}, "r1", state.Owner{User: "ops"}, "")
	if !errors.Is(err, ErrRecord) {
		t.Errorf("finish after a failed save: %v, want %v (exit 6)", err, ErrRecord)
	}
}
