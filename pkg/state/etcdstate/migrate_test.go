package etcdstate_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

// TestMigrate: a deploy host's local state and history move into etcd
// under both locks; a second migration, or one over a state already in
// etcd, is refused; one over an empty state is not.
func TestMigrate(t *testing.T) {
	e := startEtcd(t)
	local, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	st := state.State{
		LastGood: state.Good{Rev: "bbb", Ref: "v2", At: t0.Add(time.Hour)},
		Previous: state.Good{Rev: "aaa", Ref: "v1", At: t0},
		Hosts:    map[string]state.HostRev{"h1": {Rev: "bbb", At: t0.Add(time.Hour)}},
	}
	if err := local.Save("prod", st); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []state.Record{record("r1", t0), record("r2", t0.Add(time.Hour))} {
		if err := local.Append("prod", rec); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, e)
	ctx := context.Background()

	t.Run("refused while a local rollout holds the lock", func(t *testing.T) {
		l, err := local.Lock(ctx, "prod", state.Owner{Command: "rollout v3"}, state.NoWait)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		if err := s.Migrate(ctx, local, "prod"); !errors.Is(err, state.ErrLocked) {
			t.Errorf("Migrate: %v, want ErrLocked", err)
		}
	})
	if err := s.Migrate(ctx, local, "prod"); err != nil {
		t.Fatal(err)
	}
	got, err := open(t, e).Load("prod")
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("etcd state = %+v, %v; want %+v", got, err, st)
	}
	recs, err := s.History("prod", 0)
	if err != nil || !reflect.DeepEqual(ids(recs), []string{"r1", "r2"}) || !reflect.DeepEqual(recs[0], record("r1", t0)) {
		t.Errorf("etcd history = %+v, %v; want r1, r2", recs, err)
	}
	if o, alive, err := s.Holder("prod"); err != nil || alive || o != nil {
		t.Errorf("Migrate left the lock: %+v, %v, %v", o, alive, err)
	}
	if err := s.Migrate(ctx, local, "prod"); !errors.Is(err, etcdstate.ErrNotEmpty) {
		t.Errorf("second Migrate: %v, want ErrNotEmpty", err)
	}

	if err := local.Save("staging", st); err != nil {
		t.Fatal(err)
	}
	e.put(t, "/deployctl/staging/state", `{}`)
	if err := s.Migrate(ctx, local, "staging"); err != nil {
		t.Errorf("Migrate over an empty state: %v", err)
	}
	if err := s.Migrate(ctx, local, "nothing"); err == nil {
		t.Error("Migrate of an environment with nothing local succeeded")
	}
}
