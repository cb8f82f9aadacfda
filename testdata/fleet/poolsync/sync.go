package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// rewatchDelay is the pause before watching again after a watch ended.
const rewatchDelay = time.Second

// kv is the part of the etcd client the syncer reads with.
type kv interface {
	Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error)
}

// watcher is the part of the etcd client the syncer watches with.
type watcher interface {
	Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan
}

// commander sends one HAProxy runtime API command.
type commander interface {
	Command(ctx context.Context, cmd string) (string, error)
}

// syncer applies the keys under prefix to backend's servers.
type syncer struct {
	kv      kv
	watcher watcher
	lb      commander
	prefix  string
	backend string
	resync  time.Duration
	timeout time.Duration
	log     *slog.Logger
	applied map[string]string // server -> last applied value, to log changes only
}

// Run applies everything, then follows the watch and re-applies everything
// every resync period, until ctx ends.
func (s *syncer) Run(ctx context.Context) {
	tick := time.NewTicker(s.resync)
	defer tick.Stop()
	rev, _ := s.resyncAll(ctx)
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wopts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev > 0 {
			wopts = append(wopts, clientv3.WithRev(rev+1))
		}
		wch := s.watcher.Watch(wctx, s.prefix, wopts...)
		rev = s.follow(ctx, wch, tick.C, rev)
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(rewatchDelay):
		}
		if r, err := s.resyncAll(ctx); err == nil {
			rev = r
		}
	}
}

// follow applies watch events and periodic resyncs until the watch ends or
// ctx does, and returns the last revision seen.
func (s *syncer) follow(ctx context.Context, wch clientv3.WatchChan, resync <-chan time.Time, rev int64) int64 {
	for {
		select {
		case <-ctx.Done():
			return rev
		case <-resync:
			if r, err := s.resyncAll(ctx); err == nil && r > rev {
				rev = r
			}
		case resp, ok := <-wch:
			if !ok {
				s.log.Warn("etcd watch closed; watching again")
				return rev
			}
			if err := resp.Err(); err != nil {
				s.log.Warn("etcd watch failed; watching again", "err", err)
				return rev
			}
			for _, ev := range resp.Events {
				s.applyEvent(ctx, ev)
			}
			if resp.Header.Revision > rev {
				rev = resp.Header.Revision
			}
		}
	}
}

// resyncAll applies every key under the prefix and returns etcd's revision.
func (s *syncer) resyncAll(ctx context.Context) (int64, error) {
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Get(gctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		s.log.Warn("etcd get failed", "prefix", s.prefix, "err", err)
		return 0, fmt.Errorf("get %s: %w", s.prefix, err)
	}
	for _, kv := range resp.Kvs {
		s.apply(ctx, string(kv.Key), kv.Value, false)
	}
	return resp.Header.Revision, nil
}

func (s *syncer) applyEvent(ctx context.Context, ev *clientv3.Event) {
	s.apply(ctx, string(ev.Kv.Key), ev.Kv.Value, ev.Type == mvccpb.DELETE)
}

// apply puts the server named by key into the state value asks for.
func (s *syncer) apply(ctx context.Context, key string, value []byte, deleted bool) {
	server := strings.TrimPrefix(key, s.prefix)
	if server == key || !serverName.MatchString(server) {
		s.log.Warn("ignoring key that names no server", "key", key)
		return
	}
	var v *poolValue
	desc := "deleted"
	if !deleted {
		pv, err := parsePoolValue(value)
		if err != nil {
			s.log.Warn("ignoring bad pool value", "key", key, "err", err)
			return
		}
		v, desc = &pv, string(value)
	}
	for _, cmd := range commands(s.backend, server, v) {
		ans, err := s.lb.Command(ctx, cmd)
		if err == nil && ans != "" {
			err = fmt.Errorf("haproxy %s: %s", cmd, ans)
		}
		if err != nil {
			s.log.Warn("apply failed", "server", server, "err", err)
			delete(s.applied, server)
			return
		}
		s.log.Debug("applied", "cmd", cmd)
	}
	if s.applied[server] != desc {
		s.log.Info("pool state applied", "server", server, "value", desc)
		s.applied[server] = desc
	}
}
