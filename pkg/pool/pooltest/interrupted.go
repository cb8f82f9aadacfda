package pooltest

import (
	"testing"

	"github.com/deployctl/deployctl/pkg/pool"
)

// A Depool cut short (its context cancelled, or deployctl killed) after
// its first write leaves the host part way out; the caller then repools
// with the Prior it kept, and the host must come back: these tests.

func interrupt(t *testing.T, e Env, h pool.Host, before pool.State) pool.Prior {
	t.Helper()
	p, err := e.Interrupt(ctxFor(t), h)
	if err != nil {
		t.Fatalf("interrupted depool of %s: %v", h.Name, err)
	}
	if !p.Changed || p.Host != h.Name || !same(p.Before, before) {
		t.Fatalf("the env's interrupted prior = %+v, want Changed, host %s, Before %s", p, h.Name, before)
	}
	if st := state(t, e, h); st.Pooled == pool.PooledYes || st.Serving() {
		t.Fatalf("after an interrupted depool: %s, want the host out", st)
	}
	return p
}

func testRepoolInterrupted(t *testing.T, e Env) {
	h := e.Hosts[0]
	before := state(t, e, h)
	p := interrupt(t, e, h, before)
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) || !after.Serving() {
		t.Errorf("after Repool: %s, want %s and serving", after, before)
	}
	repool(t, e, h, p) // still idempotent
	if after := state(t, e, h); !same(after, before) {
		t.Errorf("after a second Repool: %s, want %s", after, before)
	}
}

// testInterruptedWeight: someone changed the weight of the half-depooled
// host. As for a finished depool, Repool restores Before's weight: the host
// is still out as our depool left it, so the weight is ours to restore.
func testInterruptedWeight(t *testing.T, e Env) {
	h := e.Hosts[1]
	before := state(t, e, h)
	p := interrupt(t, e, h, before)
	if err := e.SetWeight(ctxFor(t), h, before.Weight+50); err != nil {
		t.Fatalf("set weight of %s: %v", h.Name, err)
	}
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) || !after.Serving() {
		t.Errorf("after Repool: %s, want exactly %s and serving", after, before)
	}
}

// provisional is the Prior deployctl records before it calls Depool, from
// the state preflight read: a rollout killed during that Depool leaves only
// this one, without the value Depool found (see deploy's holdDuringDepool).
func provisional(h pool.Host, before pool.State) pool.Prior {
	return pool.Prior{Host: h.Name, Changed: true, Before: before}
}

// testRepoolProvisional: the rollout was killed after Depool's write, so
// only the provisional Prior is known. Repool brings the host back as
// preflight saw it.
func testRepoolProvisional(t *testing.T, e Env) {
	h := e.Hosts[2]
	before := state(t, e, h)
	interrupt(t, e, h, before)
	p := provisional(h, before)
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) || !after.Serving() {
		t.Errorf("after Repool with the provisional prior: %s, want %s and serving", after, before)
	}
	repool(t, e, h, p) // still idempotent
	if after := state(t, e, h); !same(after, before) {
		t.Errorf("after a second Repool: %s, want %s", after, before)
	}
}

// testRepoolProvisionalUntouched: the rollout was killed before Depool
// wrote anything. Repool with the provisional Prior leaves the host as it
// is, in the pool.
func testRepoolProvisionalUntouched(t *testing.T, e Env) {
	h := e.Hosts[0]
	before := state(t, e, h)
	repool(t, e, h, provisional(h, before))
	if after := state(t, e, h); !same(after, before) || !after.Serving() {
		t.Errorf("after Repool of a host never depooled: %s, want %s and serving", after, before)
	}
}
