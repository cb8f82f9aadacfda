package etcdstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/state"
)

// lockPoll is how often Lock tries a busy lock again.
const lockPoll = 200 * time.Millisecond

// errReleased is the loss reason of a lock given up by Release.
var errReleased = errors.New("lock released")

// hold is a lock this Store took: its lease, the revision that created
// its key, and the deadline past which this process no longer counts on
// it.
type hold struct {
	env       string
	key       string
	lease     clientv3.LeaseID
	createRev int64
	cancel    context.CancelFunc // stops the keepalive
	done      chan struct{}      // closed when keep has returned

	lost     chan struct{}
	lostOnce sync.Once

	mu       sync.Mutex
	ttl      time.Duration // as etcd granted it
	deadline time.Time     // last keepalive answer + ttl - ttl/3 (monotonic)
	why      error         // why the lock is lost; nil while held
}

// extend moves the deadline: an answer from etcd at now says the lease
// has ttl seconds left. The margin (a third of the TTL) covers the time
// the answer took to arrive and a late timer.
func (h *hold) extend(now time.Time, ttl int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ttl > 0 {
		h.ttl = time.Duration(ttl) * time.Second
	}
	h.deadline = now.Add(h.ttl - h.ttl/3)
}

// left is the time until the deadline.
func (h *hold) left() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Until(h.deadline)
}

// lose records why the lock is gone, once, and closes lost.
func (h *hold) lose(why error) {
	h.lostOnce.Do(func() {
		h.mu.Lock()
		h.why = why
		h.mu.Unlock()
		close(h.lost)
	})
}

// alive is nil while the lock holds: not lost, deadline not passed.
func (h *hold) alive() error {
	h.mu.Lock()
	why, ttl, late := h.why, h.ttl, time.Since(h.deadline)
	h.mu.Unlock()
	if why != nil {
		return why
	}
	if late >= 0 {
		err := fmt.Errorf("%w: no keepalive answer from etcd for %s (lease TTL %s): the lease may have expired",
			ErrLockLost, (ttl - ttl/3 + late).Round(time.Millisecond), ttl)
		h.lose(err)
		return h.alive()
	}
	return nil
}

// cmps are the comparisons that hold while the lock key is ours.
func (h *hold) cmps() []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(h.key), "=", h.createRev),
		clientv3.Compare(clientv3.LeaseValue(h.key), "=", h.lease),
	}
}

// check says whether kvs, a read of the lock key, is still our key.
func (h *hold) check(kvs []*mvccpb.KeyValue) error {
	switch {
	case len(kvs) == 0:
		return fmt.Errorf("%w: the lock key %s is gone (its lease expired or was revoked)", ErrLockLost, h.key)
	case kvs[0].CreateRevision != h.createRev || clientv3.LeaseID(kvs[0].Lease) != h.lease:
		return fmt.Errorf("%w: the lock key %s was taken again, by %s", ErrLockLost, h.key, ownerOf(kvs))
	}
	return nil
}

// keep follows the lease's keepalive answers and the deadline until ctx
// ends (Release) or the lock is lost; then it stops the keepalive and
// revokes the lease, so that fenced writes fail from now on.
func (s *Store) keep(ctx context.Context, h *hold, answers <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(h.done)
	timer := time.NewTimer(h.left())
	defer timer.Stop()
	for h.loop(ctx, answers, timer) {
	}
	if ctx.Err() == nil { // lost, not released
		h.cancel()
		if !s.closing.Load() { // Close leaves the lease to expire
			s.revoke(h)
		}
	}
}

// loop waits for one event of keep; false when keep is over.
func (h *hold) loop(ctx context.Context, answers <-chan *clientv3.LeaseKeepAliveResponse, timer *time.Timer) bool {
	select {
	case <-ctx.Done():
		return false
	case a, ok := <-answers:
		if !ok {
			if ctx.Err() == nil {
				h.lose(fmt.Errorf("%w: etcd ended the keepalive of lease %x (it expired or was revoked, or the client closed)", ErrLockLost, int64(h.lease)))
			}
			return false
		}
		h.extend(time.Now(), a.TTL)
		timer.Reset(h.left())
		return true
	case <-timer.C:
		if left := h.left(); left > 0 {
			timer.Reset(left)
			return true
		}
		return h.alive() == nil // records the loss
	}
}

// revoke ends h's lease (bounded); a lease already gone is no error.
func (s *Store) revoke(h *hold) error {
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	_, err := s.cli.Revoke(ctx, h.lease)
	if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return s.etcdErr(ctx, fmt.Sprintf("release lock %s: revoke lease %x (it expires by itself within its TTL)", h.env, int64(h.lease)), err)
	}
	return nil
}

// Lock takes env's lock for owner: it grants a lease of LeaseTTL, keeps it
// alive, and creates <prefix><env>/lock with that lease when no such key
// exists, trying every 200ms for up to wait (0: state.DefaultLockWait,
// state.NoWait: one try) or until ctx ends. Zero fields of owner are
// filled in from this process. The lock does not end with ctx: Release it.
//
// A busy lock is an error wrapping a *state.LockedError (errors.Is
// state.ErrLocked) naming the holder and for how long it has held the
// lock (by the holder's clock). Lock.Stale is the owner of a run the state
// records as in progress although no lock key was there: its process
// died, or lost its lease. Lock.Lost is closed when the lock is lost (the
// lease expired or was revoked, or etcd gave no keepalive answer before
// the deadline) or released.
func (s *Store) Lock(ctx context.Context, env string, owner state.Owner, wait time.Duration) (*state.Lock, error) {
	if err := checkName("environment", env); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if wait == 0 {
		wait = state.DefaultLockWait
	}
	owner = filled(owner)
	val, err := json.Marshal(owner)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", env, err)
	}
	h, err := s.grant(ctx, env)
	if err != nil {
		return nil, err
	}
	giveUp := func(err error) (*state.Lock, error) {
		h.cancel()
		<-h.done
		h.lose(err)
		return nil, errors.Join(err, s.revoke(h))
	}
	deadline := time.Now().Add(wait)
	for {
		if err := h.alive(); err != nil {
			return giveUp(fmt.Errorf("lock %s: while trying: %w", env, err))
		}
		resp, err := s.tryLock(ctx, h, val)
		if err != nil {
			return giveUp(s.etcdErr(ctx, "lock "+env, err))
		}
		if resp.Succeeded {
			return s.locked(h, owner, resp), nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		left := time.Until(deadline)
		if wait < 0 || left <= 0 {
			return giveUp(lockedErr(env, kvs))
		}
		t := time.NewTimer(min(lockPoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return giveUp(fmt.Errorf("lock %s: waiting for %s: %w", env, ownerOf(kvs), ctx.Err()))
		case <-t.C:
		}
	}
}

// grant makes the lease of a new hold and starts its keepalive, which
// lasts until the lock is released or lost (not until ctx ends).
func (s *Store) grant(ctx context.Context, env string) (*hold, error) {
	rctx, cancel := s.rctx(ctx)
	defer cancel()
	ttl := int64((s.cfg.LeaseTTL + time.Second - 1) / time.Second)
	g, err := s.cli.Grant(rctx, ttl)
	if err != nil {
		return nil, s.etcdErr(ctx, "lock "+env+": grant lease", err)
	}
	h := &hold{env: env, key: s.key(env, lockKey), lease: g.ID, done: make(chan struct{}), lost: make(chan struct{})}
	h.extend(time.Now(), g.TTL)
	kctx, kcancel := context.WithCancel(context.Background())
	h.cancel = kcancel
	answers, err := s.cli.KeepAlive(kctx, g.ID)
	if err != nil {
		kcancel()
		close(h.done)
		return nil, errors.Join(s.etcdErr(ctx, "lock "+env+": keepalive", err), s.revoke(h))
	}
	go s.keep(kctx, h, answers)
	return h, nil
}

// tryLock creates the lock key with h's lease if it is absent, reading
// the state in the same revision; else it reads the holder.
func (s *Store) tryLock(ctx context.Context, h *hold, val []byte) (*clientv3.TxnResponse, error) {
	rctx, cancel := s.rctx(ctx)
	defer cancel()
	return s.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.CreateRevision(h.key), "=", 0)).
		Then(clientv3.OpPut(h.key, string(val), clientv3.WithLease(h.lease)), clientv3.OpGet(s.key(h.env, stateKey))).
		Else(clientv3.OpGet(h.key)).
		Commit()
}

// locked makes the *state.Lock of a hold whose key resp created.
func (s *Store) locked(h *hold, owner state.Owner, resp *clientv3.TxnResponse) *state.Lock {
	h.createRev = resp.Header.Revision
	var stale *state.Owner
	stKvs := resp.Responses[1].GetResponseRange().Kvs
	var st state.State
	if len(stKvs) > 0 && json.Unmarshal(stKvs[0].Value, &st) == nil && st.Current != nil {
		by := st.Current.By
		stale = &by
	}
	s.mu.Lock()
	s.held[h.env] = h
	s.mu.Unlock()
	s.saveMu.Lock()
	if _, ok := s.revs[h.env]; !ok { // else Save compares with what this process last read
		s.revs[h.env] = 0
		if len(stKvs) > 0 {
			s.revs[h.env] = stKvs[0].ModRevision
		}
	}
	s.saveMu.Unlock()
	l := state.NewLock(h.env, owner, stale, func() error {
		h.cancel()
		<-h.done
		h.lose(errReleased)
		s.mu.Lock()
		if s.held[h.env] == h {
			delete(s.held, h.env)
		}
		s.mu.Unlock()
		return s.revoke(h)
	})
	l.Lost = h.lost
	return l
}

// lockedErr is the error for a lock key held by someone else.
func lockedErr(env string, kvs []*mvccpb.KeyValue) error {
	le := &state.LockedError{Env: env}
	if len(kvs) > 0 {
		le.Holder = ownerOf(kvs)
	}
	if le.Holder == nil || le.Holder.Time.IsZero() {
		return le
	}
	return fmt.Errorf("lock %s (held for %s by the holder's clock): %w", env, time.Since(le.Holder.Time).Round(time.Second), le)
}

// ownerOf decodes a read of a lock key; nil when it is absent.
func ownerOf(kvs []*mvccpb.KeyValue) *state.Owner {
	if len(kvs) == 0 {
		return nil
	}
	var o state.Owner
	if err := json.Unmarshal(kvs[0].Value, &o); err != nil {
		return &state.Owner{Message: fmt.Sprintf("unreadable lock value: %v", err)}
	}
	return &o
}

// holding is this Store's live hold of env's lock.
func (s *Store) holding(env string) (*hold, error) {
	s.mu.Lock()
	h := s.held[env]
	s.mu.Unlock()
	if h == nil {
		return nil, ErrNotLocked
	}
	if err := h.alive(); err != nil {
		return nil, err
	}
	return h, nil
}

// Fence returns the comparisons under which env's lock is still this
// Store's: the lock key exists with the create revision and the lease of
// our Lock. A writer to the same etcd cluster (the pool's etcd writes)
// puts them in its transaction's If, so its write fails once the lock is
// lost. When this Store does not hold the lock, or has lost it (the
// deadline passed too), the comparison can never hold: a fenced write
// fails closed.
func (s *Store) Fence(env string) []clientv3.Cmp {
	h, err := s.holding(env)
	if err != nil {
		return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(s.key(env, lockKey)), "=", -1)}
	}
	return h.cmps()
}

// Check is nil when this Store holds env's lock now: not lost, the
// deadline not passed, and the lock key in etcd still ours (one bounded
// read). Writes that cannot be fenced (HAProxy's runtime API) call it
// before each write.
func (s *Store) Check(ctx context.Context, env string) error {
	h, err := s.holding(env)
	if err != nil {
		return fmt.Errorf("lock %s: %w", env, err)
	}
	rctx, cancel := s.rctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(rctx, h.key)
	if err != nil {
		return s.etcdErr(ctx, "lock "+env, err)
	}
	if err := h.check(resp.Kvs); err != nil {
		h.lose(err)
		return fmt.Errorf("lock %s: %w", env, err)
	}
	return h.alive()
}

// Holder returns who holds env's lock and whether that process's lease is
// alive. (o, true): the lock key exists, o holds it. (o, false): no lock
// key, but the state records a run in progress by o: o died or lost its
// lease (an orphan). (nil, false): nobody.
func (s *Store) Holder(env string) (*state.Owner, bool, error) {
	if err := checkName("environment", env); err != nil {
		return nil, false, fmt.Errorf("lock holder: %w", err)
	}
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	resp, err := s.cli.Txn(ctx).Then(clientv3.OpGet(s.key(env, lockKey)), clientv3.OpGet(s.key(env, stateKey))).Commit()
	if err != nil {
		return nil, false, s.etcdErr(ctx, "lock holder "+env, err)
	}
	if o := ownerOf(resp.Responses[0].GetResponseRange().Kvs); o != nil {
		return o, true, nil
	}
	stKvs := resp.Responses[1].GetResponseRange().Kvs
	if len(stKvs) == 0 {
		return nil, false, nil
	}
	var st state.State
	if err := json.Unmarshal(stKvs[0].Value, &st); err != nil {
		return nil, false, fmt.Errorf("lock holder %s: etcd key %s: %w", env, s.key(env, stateKey), err)
	}
	if st.Current == nil {
		return nil, false, nil
	}
	by := st.Current.By
	return &by, false, nil
}

// ForceRelease refuses, with a *state.LockedError, while a live process
// holds env's lock. Otherwise there is nothing to clear — a dead holder's
// key went with its lease, and the state's record of its run is what
// abort needs — so it returns the orphan's owner (nil: none).
func (s *Store) ForceRelease(env string) (*state.Owner, error) {
	o, alive, err := s.Holder(env)
	if err != nil {
		return nil, fmt.Errorf("force release: %w", err)
	}
	if alive {
		return nil, fmt.Errorf("force release %s: refused, a live process holds the lock: %w",
			env, &state.LockedError{Env: env, Holder: o})
	}
	return o, nil
}

// filled returns o with its zero fields taken from this process, as
// pkg/state fills an owner: pid, host name, the person, the time.
func filled(o state.Owner) state.Owner {
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.User != "" {
		return o
	}
	o.User = "uid " + strconv.Itoa(os.Getuid())
	if u := os.Getenv("SUDO_USER"); u != "" {
		o.User = u // sudo's caller: "root" says nothing about who deployed
	} else if u, err := user.Current(); err == nil {
		o.User = u.Username
	} else if u := os.Getenv("USER"); u != "" {
		o.User = u
	}
	return o
}
