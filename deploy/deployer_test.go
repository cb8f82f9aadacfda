package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// fakeStore is a StateStore in memory: one environment's state, history
// and abort request, and a lock held by this process only.
type fakeStore struct {
	lost    chan struct{} // when set, the Lost of every lock taken
	mu      sync.Mutex
	st      state.State
	history []state.Record
	locked  bool
	abort   *state.Owner
	saves   int
}

var _ StateStore = (*fakeStore)(nil)

func (s *fakeStore) Lock(_ context.Context, env string, owner state.Owner, _ time.Duration) (*state.Lock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil, fmt.Errorf("%w: %s", state.ErrLocked, env)
	}
	s.locked = true
	l := state.NewLock(env, owner, nil, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.locked = false
		return nil
	})
	l.Lost = s.lost
	return l, nil
}

func (s *fakeStore) Holder(string) (*state.Owner, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return nil, s.locked, nil
}

func (s *fakeStore) ForceRelease(env string) (*state.Owner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil, fmt.Errorf("%w: %s", state.ErrLocked, env)
	}
	return nil, nil
}

func (s *fakeStore) Load(string) (state.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.st), nil
}

func (s *fakeStore) Save(_ string, st state.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = clone(st)
	s.saves++
	return nil
}

func (s *fakeStore) Append(_ string, rec state.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history = append(s.history, rec)
	return nil
}

func (s *fakeStore) History(_ string, limit int) ([]state.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 || limit > len(s.history) {
		limit = len(s.history)
	}
	return slices.Clone(s.history[len(s.history)-limit:]), nil
}

// clone deep-copies a state, as a store that writes it out would.
func clone(st state.State) state.State {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	var out state.State
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (s *fakeStore) LogFile(string, string) (io.WriteCloser, error) {
	return nopCloser{io.Discard}, nil
}
func (s *fakeStore) LogPath(env, id string) string { return "/logs/" + env + "/" + id }

func (s *fakeStore) RequestAbort(_ string, by state.Owner) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abort = &by
	return nil
}

func (s *fakeStore) AbortRequested(string) (*state.Owner, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abort, s.abort != nil
}

func (s *fakeStore) ClearAbort(string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abort = nil
	return nil
}

func (s *fakeStore) WatchAbort(ctx context.Context, _ string, _ time.Duration) <-chan state.Owner {
	ch := make(chan state.Owner)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// fakeSource resolves refs from a table and serves the schema file of
// each rev ("" for none).
type fakeSource struct {
	refs   map[string]string
	schema map[string]string
}

func (s fakeSource) Resolve(_ context.Context, ref string) (string, error) {
	if rev, ok := s.refs[ref]; ok {
		return rev, nil
	}
	return "", fmt.Errorf("resolve %q: unknown ref", ref)
}

func (s fakeSource) ReadFile(_ context.Context, rev, path string) ([]byte, error) {
	if v := s.schema[rev]; v != "" && path == "SCHEMA" {
		return []byte(v + "\n"), nil
	}
	return nil, fmt.Errorf("%s at %s: %w", path, rev, fs.ErrNotExist)
}

func (fakeSource) Files(context.Context, string, string) (map[string][]byte, error) { return nil, nil }
func (fakeSource) Archive(context.Context, string, io.Writer) error                 { return nil }

// fakeUI says yes and keeps the notes.
type fakeUI struct {
	mu    sync.Mutex
	notes []string
	asked []string
}

func (u *fakeUI) Confirm(q string) error {
	u.mu.Lock()
	u.asked = append(u.asked, q)
	u.mu.Unlock()
	return nil
}
func (u *fakeUI) Note(msg string) { u.mu.Lock(); u.notes = append(u.notes, msg); u.mu.Unlock() }
func (u *fakeUI) Event(Event)     {}

// testDeployer wires a Deployer over the fake fleet, store and source.
func testDeployer(t *testing.T, n int, f *fakeFleet, st *fakeStore, src fakeSource, schemaFile string) (*Deployer, *fakeUI) {
	env := testEnv(t, n, nil)
	env.SchemaVersionFile = schemaFile
	e, _ := testEngine(env, f)
	ui := &fakeUI{}
	d := &Deployer{Env: env, Store: st, Source: src, UI: ui,
		Connect: func(sink Sink) (*Engine, func() error, error) {
			e.Events = sink
			return e, func() error { return nil }, nil
		}}
	return d, ui
}

// A whole rollout, request to history, against fakes: the lock is taken
// and released, the request is pinned and confirmed, every host changes,
// and the store ends with the new last good, each host's rev, no run in
// progress, and one history record.
func TestDeployerRunsARolloutToHistory(t *testing.T) {
	f := newFleet(hosts(3), good)
	st := &fakeStore{st: state.State{LastGood: state.Good{Rev: good}}}
	d, ui := testDeployer(t, 3, f, st, fakeSource{refs: map[string]string{"v2": next}}, "")
	res, err := d.Rollout(context.Background(), context.Background(), Request{Verb: "rollout", Ref: "v2", Message: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDone || res.Rev != next {
		t.Fatalf("result %+v", res)
	}
	if len(ui.asked) != 1 || !strings.Contains(ui.asked[0], "v2 (222222222222") {
		t.Errorf("asked %q", ui.asked)
	}
	s := st.st
	if s.LastGood.Rev != next || s.Current != nil || s.Hosts["h2"].Rev != next {
		t.Errorf("state: last good %s, current %+v, h2 %+v", gitsrc.Short(s.LastGood.Rev), s.Current, s.Hosts["h2"])
	}
	if len(st.history) != 1 || st.history[0].Result != state.ResultDone || st.history[0].PreviousRev != good {
		t.Errorf("history %+v", st.history)
	}
	if st.locked {
		t.Error("the lock is still held")
	}
	// A second rollout while one is recorded as unfinished is refused.
	st.st.Current = &state.Rollout{ID: "crashed", Ref: "v3"}
	if _, err := d.Rollout(context.Background(), context.Background(), Request{Verb: "rollout", Ref: "v2"}); err == nil || !strings.Contains(err.Error(), "deployctl abort") {
		t.Errorf("rollout over an unfinished one: %v", err)
	}
}

// The schema guard, through the whole lifecycle: a rev below the deployed
// schema is refused before anything changes; a raise needs
// AllowSchemaChange; once the raised code ran on h1 and h2 fails, h1 is
// refused its return, h2 is kept out, the record keeps the run for abort,
// and abort after it still refuses to take h1 below the schema.
func TestDeployerSchemaGuard(t *testing.T) {
	src := fakeSource{refs: map[string]string{"old": other, "raise": next}, schema: map[string]string{good: "2", next: "3", other: "1"}}
	f := newFleet(hosts(3), good)
	st := &fakeStore{st: state.State{LastGood: state.Good{Rev: good}}}
	d, _ := testDeployer(t, 3, f, st, src, "SCHEMA")
	ctx := context.Background()

	_, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "old"})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "below the deployed schema version 2") {
		t.Fatalf("rollout below the schema: %v", err)
	}
	_, err = d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "raise"})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "--allow-schema-change") {
		t.Fatalf("raise without AllowSchemaChange: %v", err)
	}
	if len(st.history) != 0 || f.current["h1"] != good {
		t.Fatalf("a refused request changed something: history %v, h1 on %s", st.history, gitsrc.Short(f.current["h1"]))
	}

	failOn(f, next, "h2")
	res, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "raise", AllowSchemaChange: true})
	if !errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("failed raise: %v", err)
	}
	if f.current["h1"] != next || f.pooled["h1"] != pool.PooledYes || f.pooled["h2"] != pool.PooledNo {
		t.Errorf("h1 on %s pooled %s, h2 pooled %s; want h1 kept on the raised rev and pooled, h2 out", gitsrc.Short(f.current["h1"]), f.pooled["h1"], f.pooled["h2"])
	}
	if len(res.Refused) == 0 || st.st.Schema != 3 || st.st.Current == nil {
		t.Fatalf("refused %v, stored schema %d, current %v; want refusals, schema 3, the run kept for abort", res.Refused, st.st.Schema, st.st.Current)
	}

	f.onStep = nil
	out, err := d.Abort(ctx, "test", time.Second)
	if !errors.Is(err, ErrRollbackFailed) || out.Restored == nil || !strings.Contains(out.Restored.Reason, "schema guard") {
		t.Fatalf("abort: %v, %+v", err, out)
	}
	if f.current["h1"] != next {
		t.Errorf("abort took h1 to %s, below the schema", gitsrc.Short(f.current["h1"]))
	}
	if last := st.history[len(st.history)-1]; last.Ref != "abort" || last.Result != state.ResultRollbackFailed {
		t.Errorf("abort's history %+v", last)
	}
}

// A shared store's lock lost mid-rollout (its lease ran out): the run
// stops at once — no rollback, no more pool or record writes — and says
// which hosts it was changing, for an abort from any deploy host.
func TestDeployerStopsWhenTheLockIsLost(t *testing.T) {
	f := newFleet(hosts(3), good)
	st := &fakeStore{st: state.State{LastGood: state.Good{Rev: good}}, lost: make(chan struct{})}
	d, _ := testDeployer(t, 3, f, st, fakeSource{refs: map[string]string{"v2": next}}, "")
	var once sync.Once
	f.onStep = func(host, action string) {
		if host == "h2" && action == "activate "+next {
			once.Do(func() { close(st.lost) })
		}
	}
	ctx := context.Background()
	res, err := d.Rollout(ctx, ctx, Request{Verb: "rollout", Ref: "v2"})
	if !errors.Is(err, ErrLockLost) || !errors.Is(err, ErrRollbackFailed) || !strings.Contains(err.Error(), "h2") {
		t.Fatalf("rollout that lost its lock: %v", err)
	}
	if f.current["h1"] != next || f.current["h3"] != good {
		t.Errorf("h1 on %s, h3 on %s: want h1 left as it was and h3 untouched", gitsrc.Short(f.current["h1"]), gitsrc.Short(f.current["h3"]))
	}
	if slices.Contains(f.actions("h1"), "activate "+good) {
		t.Error("a rollback ran after the lock was lost")
	}
	if len(st.history) != 0 || st.st.Current == nil {
		t.Errorf("the record was finished after the lock was lost: history %v, current %v", st.history, st.st.Current)
	}
	if res == nil || !slices.Contains(res.Changed, "h2") {
		t.Errorf("result %+v does not name h2", res)
	}
}
