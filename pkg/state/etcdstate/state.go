package etcdstate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/state"
)

// Load reads env's state; an absent key is the zero State. It remembers
// the key's revision: the next Save compares with it.
func (s *Store) Load(env string) (state.State, error) {
	if err := checkName("environment", env); err != nil {
		return state.State{}, fmt.Errorf("load state: %w", err)
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	key := s.key(env, stateKey)
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return state.State{}, s.etcdErr(ctx, "load state "+env, err)
	}
	var st state.State
	if len(resp.Kvs) == 0 {
		s.revs[env] = 0
		return st, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
		return state.State{}, fmt.Errorf("load state %s: etcd key %s: %w", env, key, err)
	}
	s.revs[env] = resp.Kvs[0].ModRevision
	return st, nil
}

// Save replaces env's state in one transaction that writes only if this
// Store still holds env's lock (its key's create revision and lease) and
// the state key is at the revision this process last read or wrote. A
// failed comparison writes nothing and says which failed: ErrLockLost or
// ErrStateMoved. Without the lock, Save is ErrNotLocked.
func (s *Store) Save(env string, st state.State) error {
	if err := checkName("environment", env); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	h, err := s.holding(env)
	if err != nil {
		return fmt.Errorf("save state %s: %w", env, err)
	}
	if st.Current != nil {
		c := *st.Current // the caller's record is not ours to change
		c.Lease = int64(h.lease)
		st.Current = &c
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save state %s: %w", env, err)
	}
	key := s.key(env, stateKey)
	base := s.revs[env] // set by Lock at the latest
	for {
		ctx, cancel := s.rctx(context.Background())
		resp, err := s.cli.Txn(ctx).
			If(append(h.cmps(), clientv3.Compare(clientv3.ModRevision(key), "=", base))...).
			Then(clientv3.OpPut(key, string(data))).
			Else(clientv3.OpGet(h.key), clientv3.OpGet(key)).
			Commit()
		cancel()
		if err != nil {
			// It may have been written: the next Save recognises it.
			s.pending[env] = data
			return s.etcdErr(context.Background(), "save state "+env, err)
		}
		if resp.Succeeded {
			s.revs[env] = resp.Header.Revision
			delete(s.pending, env)
			return nil
		}
		if err := h.check(resp.Responses[0].GetResponseRange().Kvs); err != nil {
			h.lose(err)
			return fmt.Errorf("save state %s: %w; nothing written", env, err)
		}
		cur := resp.Responses[1].GetResponseRange().Kvs
		if p, ok := s.pending[env]; ok && len(cur) > 0 && bytes.Equal(cur[0].Value, p) {
			// Our own earlier write, whose answer was lost: go on from it.
			base = cur[0].ModRevision
			s.revs[env] = base
			delete(s.pending, env)
			continue
		}
		now := int64(0)
		if len(cur) > 0 {
			now = cur[0].ModRevision
		}
		return fmt.Errorf("save state %s: %w: etcd key %s is at revision %d, this process last read or wrote it at %d; nothing written (Load it again)",
			env, ErrStateMoved, key, now, base)
	}
}

// Append writes rec as <prefix><env>/history/<rec.ID>, fenced like Save:
// only while this Store holds env's lock (every caller holds it: a run at
// its end, abort, Migrate). The key is created once; appending the same
// record again is a no-op, another record with the same ID an error.
func (s *Store) Append(env string, rec state.Record) error {
	if err := checkName("environment", env); err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	if err := checkName("rollout id", rec.ID); err != nil {
		return fmt.Errorf("append history %s: %w", env, err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("append history %s: %w", env, err)
	}
	h, err := s.holding(env)
	if err != nil {
		return fmt.Errorf("append history %s: %w", env, err)
	}
	key := s.key(env, historyDir+rec.ID)
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	resp, err := s.cli.Txn(ctx).
		If(append(h.cmps(), clientv3.Compare(clientv3.CreateRevision(key), "=", 0))...).
		Then(clientv3.OpPut(key, string(data))).
		Else(clientv3.OpGet(h.key), clientv3.OpGet(key)).
		Commit()
	switch {
	case err != nil:
		return s.etcdErr(ctx, "append history "+env, err)
	case resp.Succeeded:
		return nil
	}
	if err := h.check(resp.Responses[0].GetResponseRange().Kvs); err != nil {
		h.lose(err)
		return fmt.Errorf("append history %s: %w; nothing written", env, err)
	}
	if cur := resp.Responses[1].GetResponseRange().Kvs; len(cur) > 0 && bytes.Equal(cur[0].Value, data) {
		return nil
	}
	return fmt.Errorf("append history %s: etcd key %s already holds another record; nothing written", env, key)
}

// History returns env's last limit records (all when limit <= 0), newest
// first, in the order they were appended (the keys' create revisions). A
// value that is not a JSON record is skipped.
func (s *Store) History(env string, limit int) ([]state.Record, error) {
	if err := checkName("environment", env); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	key := s.key(env, historyDir)
	resp, err := s.cli.Get(ctx, key, opts...)
	if err != nil {
		return nil, s.etcdErr(ctx, "history "+env, err)
	}
	recs := decodeRecords(resp.Kvs)
	if limit > 0 && len(recs) < limit && resp.More {
		// Undecodable values took places: read them all, at the same revision.
		resp, err = s.cli.Get(ctx, key, append(opts[:2:2], clientv3.WithRev(resp.Header.Revision))...)
		if err != nil {
			return nil, s.etcdErr(ctx, "history "+env, err)
		}
		recs = decodeRecords(resp.Kvs)
		recs = recs[:min(limit, len(recs))]
	}
	slices.Reverse(recs) // oldest first, newest last, as pkg/state lists them
	return recs, nil
}

// decodeRecords decodes history values, skipping any that is not a record.
func decodeRecords(kvs []*mvccpb.KeyValue) []state.Record {
	var recs []state.Record
	for _, kv := range kvs {
		var rec state.Record
		if json.Unmarshal(kv.Value, &rec) == nil {
			recs = append(recs, rec)
		}
	}
	return recs
}
