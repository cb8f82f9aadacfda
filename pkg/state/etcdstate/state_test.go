package etcdstate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

// TestSave: the holder saves and loads; a store without the lock cannot
// save; a record moved by someone else since the holder read it is
// refused, writing nothing, until the holder loads it again.
func TestSave(t *testing.T) {
	e := startEtcd(t)
	a, b := open(t, e), open(t, e)
	if st, err := a.Load("prod"); err != nil || !reflect.DeepEqual(st, state.State{}) {
		t.Fatalf("Load of nothing = %+v, %v; want the zero State", st, err)
	}
	if err := a.Save("prod", state.State{Schema: 1}); !errors.Is(err, etcdstate.ErrNotLocked) {
		t.Errorf("Save without the lock: %v, want ErrNotLocked", err)
	}
	lock(t, a, "prod", alice)
	good := state.State{LastGood: state.Good{Rev: "abc123", At: time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)}, Schema: 3}
	if err := a.Save("prod", good); err != nil {
		t.Fatal(err)
	}
	good.Hosts = map[string]state.HostRev{"h1": {Rev: "abc123", At: good.LastGood.At}}
	if err := a.Save("prod", good); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	if st, err := b.Load("prod"); err != nil || !reflect.DeepEqual(st, good) {
		t.Errorf("the other host loads %+v, %v; want %+v", st, err, good)
	}

	// A process that does not hold the lock, saving at the same time.
	if err := b.Save("prod", state.State{Schema: 99}); !errors.Is(err, etcdstate.ErrNotLocked) {
		t.Errorf("Save by a store without the lock: %v, want ErrNotLocked", err)
	}

	// Someone writes the key behind the holder's back.
	e.put(t, "/deployctl/prod/state", `{"schema":7}`)
	err := a.Save("prod", state.State{Schema: 4})
	if !errors.Is(err, etcdstate.ErrStateMoved) || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("Save over a moved record: %v, want ErrStateMoved", err)
	}
	if v, _ := e.get(t, "/deployctl/prod/state"); v != `{"schema":7}` {
		t.Errorf("a refused Save wrote: %s", v)
	}
	if st, err := a.Load("prod"); err != nil || st.Schema != 7 {
		t.Fatalf("Load = %+v, %v", st, err)
	}
	if err := a.Save("prod", state.State{Schema: 8}); err != nil {
		t.Errorf("Save after Load: %v", err)
	}
	// The record of a run in progress carries the owner's lease.
	run := state.State{Current: &state.Rollout{ID: "r1", Ref: "v2"}}
	if err := a.Save("prod", run); err != nil {
		t.Fatal(err)
	}
	if run.Current.Lease != 0 {
		t.Error("Save changed the caller's record")
	}
	if st, err := b.Load("prod"); err != nil || st.Current == nil || st.Current.Lease == 0 {
		t.Errorf("the record of a run in progress = %+v, %v; want the owner's lease in it", st.Current, err)
	}
}

// TestSaveAfterBaselineFromLock: a Save without any Load compares with
// the state as it was when the lock was taken.
func TestSaveAfterBaselineFromLock(t *testing.T) {
	e := startEtcd(t)
	e.put(t, "/deployctl/prod/state", `{"schema":1}`)
	a := open(t, e)
	lock(t, a, "prod", alice)
	if err := a.Save("prod", state.State{Schema: 2}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.get(t, "/deployctl/prod/state"); v != `{"schema":2}` {
		t.Errorf("state = %s", v)
	}
}

func record(id string, finished time.Time) state.Record {
	return state.Record{ID: id, Env: "prod", Kind: state.KindCode, Ref: "v-" + id, Rev: "rev-" + id, User: "alice",
		Started: finished.Add(-time.Minute), Finished: finished, Duration: time.Minute, Result: state.ResultDone}
}

func ids(recs []state.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// TestHistory: the last records come back oldest first in the order they were
// appended (not the order of their IDs), limited; appending needs the
// lock; the same record twice is one record.
func TestHistory(t *testing.T) {
	e := startEtcd(t)
	a, b := open(t, e), open(t, e)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := a.Append("prod", record("x", t0)); !errors.Is(err, etcdstate.ErrNotLocked) {
		t.Errorf("Append without the lock: %v, want ErrNotLocked", err)
	}
	lock(t, a, "prod", alice)
	order := []string{"c", "a", "d", "b"}
	for i, id := range order {
		if err := a.Append("prod", record(id, t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Append("prod", record("a", t0.Add(time.Hour))); err != nil {
		t.Errorf("the same record again: %v", err)
	}
	if err := a.Append("prod", record("a", t0)); err == nil || !strings.Contains(err.Error(), "another record") {
		t.Errorf("another record under an existing ID: %v", err)
	}
	if err := a.Append("prod", record("../x", t0)); !errors.Is(err, state.ErrBadName) {
		t.Errorf("a bad ID: %v, want ErrBadName", err)
	}
	e.put(t, "/deployctl/prod/history/zz", "{torn") // skipped, as a torn line is
	e.put(t, "/deployctl/prod2/history/e", `{"id":"e"}`)
	tests := []struct {
		limit int
		want  []string
	}{
		{0, []string{"c", "a", "d", "b"}},
		{-1, []string{"c", "a", "d", "b"}},
		{2, []string{"d", "b"}},
		{10, []string{"c", "a", "d", "b"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			recs, err := b.History("prod", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("History(%d) = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
	recs, _ := b.History("prod", 0)
	if want := record("b", t0.Add(3*time.Hour)); !reflect.DeepEqual(recs[len(recs)-1], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", recs[len(recs)-1], want)
	}
	if recs, err := b.History("staging", 0); err != nil || len(recs) != 0 {
		t.Errorf("History of nothing = %v, %v", recs, err)
	}
}

// TestLogsStayLocal: run logs go under LogDir exactly as pkg/state lays
// them out.
func TestLogsStayLocal(t *testing.T) {
	e := startEtcd(t)
	dir := t.TempDir()
	s := open(t, e, func(c *etcdstate.Config) { c.LogDir = dir })
	local, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := state.NewID(time.Now())
	path := s.LogPath("prod", id)
	if want := filepath.Join(dir, "envs", "prod", "logs", id+".log"); path != want || path != local.LogPath("prod", id) {
		t.Errorf("LogPath = %s, want %s", path, want)
	}
	f, err := s.LogFile("prod", id)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "{}\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LogFile("prod", "../x"); !errors.Is(err, state.ErrBadName) {
		t.Errorf("a bad ID: %v", err)
	}
	if resp, err := e.cli.Get(e.ctx(t), "/deployctl/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || resp.Count != 0 {
		t.Errorf("a log wrote to etcd: %v keys, %v", resp.Count, err)
	}
}

// TestBadNames: names that would leave the environment's key range are
// refused before any etcd call.
func TestBadNames(t *testing.T) {
	e := startEtcd(t)
	s := open(t, e)
	ctx := context.Background()
	for _, env := range []string{"", ".", "..", "a/b", "prod/../x", strings.Repeat("x", 129)} {
		checks := map[string]error{
			"Lock":         func() error { _, err := s.Lock(ctx, env, state.Owner{}, state.NoWait); return err }(),
			"Load":         func() error { _, err := s.Load(env); return err }(),
			"Save":         s.Save(env, state.State{}),
			"Holder":       func() error { _, _, err := s.Holder(env); return err }(),
			"History":      func() error { _, err := s.History(env, 0); return err }(),
			"RequestAbort": s.RequestAbort(env, state.Owner{}),
		}
		for name, err := range checks {
			if !errors.Is(err, state.ErrBadName) {
				t.Errorf("%s(%q): %v, want ErrBadName", name, env, err)
			}
		}
	}
}
