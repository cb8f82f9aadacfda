package sshx

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Pool holds one Client per host name, dialled on first use and reused for
// every later step of a rollout. It is safe for concurrent use; dials to
// different hosts run in parallel.
type Pool struct {
	d *dialer

	mu      sync.Mutex
	entries map[string]*poolEntry
	closed  bool
}

type poolEntry struct {
	mu     sync.Mutex // held while dialling, so one host is dialled once
	target Target
	client *Client
}

// NewPool reads the ssh_config file named by cfg once and returns an empty
// Pool.
func NewPool(cfg Config) (*Pool, error) {
	d, err := newDialer(cfg)
	if err != nil {
		return nil, err
	}
	return &Pool{d: d, entries: map[string]*poolEntry{}}, nil
}

// Client returns the Client for t.Name, dialling it if this is the first
// call for that name. A failed dial is not remembered: the next call
// dials again. The same name with a different address or port is an error.
func (p *Pool) Client(ctx context.Context, t Target) (*Client, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("ssh %s: %w", t.Name, ErrClosed)
	}
	e, ok := p.entries[t.Name]
	if !ok {
		e = &poolEntry{target: t}
		p.entries[t.Name] = e
	}
	p.mu.Unlock()
	if e.target != t {
		return nil, fmt.Errorf("ssh %s: already dialled as %+v, now asked for %+v", t.Name, e.target, t)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	c, err := dialClient(ctx, p.d, t)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return nil, fmt.Errorf("ssh %s: %w", t.Name, ErrClosed)
	}
	e.client = c
	return c, nil
}

// Parallel is the fan-out bound from the Pool's Config.
func (p *Pool) Parallel() int { return p.d.cfg.Parallel }

// Close closes every Client and refuses new ones.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.entries
	p.entries = map[string]*poolEntry{}
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		e.mu.Lock()
		if e.client != nil {
			errs = append(errs, e.client.Close())
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}
