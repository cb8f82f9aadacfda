package pool_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// TestHAProxyRepoolStates: Repool puts back a server our depool left, in
// MAINT or part way in DRAIN (an interrupted depool), restoring the weight
// Depool found; a server whose admin state has flags we never set (inherited
// from a tracked server, from the config) or that someone else repooled is
// refused with ErrChanged and left exactly as it is.
func TestHAProxyRepoolStates(t *testing.T) {
	needServers(t, haproxyBin)
	tests := []struct {
		name    string
		host    string
		cmds    []string // run after the Prior is taken, as our depool or others would
		changed bool     // want ErrChanged
	}{
		{name: "drain only, as an interrupted depool leaves it", host: "h4",
			cmds: []string{"set server exampleapp/h4 state drain"}},
		{name: "drain, then someone set another weight", host: "h4",
			cmds: []string{"set server exampleapp/h4 state drain", "set server exampleapp/h4 weight 77"}},
		{name: "maint, as a finished depool leaves it", host: "h4",
			cmds: []string{"set server exampleapp/h4 state drain", "set server exampleapp/h4 state maint"}},
		{name: "drain of a tracking server", host: "h2",
			cmds: []string{"set server exampleapp/h2 state drain"}},
		{name: "inherited maint", host: "h2", changed: true,
			cmds: []string{"set server exampleapp/h1 state maint"}},
		{name: "inherited drain", host: "h2", changed: true,
			cmds: []string{"set server exampleapp/h1 state drain"}},
		{name: "drain plus inherited maint", host: "h2", changed: true,
			cmds: []string{"set server exampleapp/h2 state drain", "set server exampleapp/h1 state maint"}},
		{name: "disabled in the config", host: "h3", changed: true},
		{name: "up with another weight", host: "h4", changed: true,
			cmds: []string{"set server exampleapp/h4 weight 77"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb, b := repoolStatesLB(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h := testHosts(tt.host)[0]
			before, err := b.State(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host == "h3" { // out from the start: as if someone disabled it after our depool began
				before = pool.State{Pooled: pool.PooledYes, Weight: 30, LB: "no check", Up: true}
			}
			p := pool.Prior{Host: h.Name, Changed: true, Before: before}
			for _, c := range tt.cmds {
				lb.cmd(t, c)
			}
			was := lb.serversState(t, "exampleapp")
			err = b.Repool(ctx, h, p)
			if tt.changed {
				if !errors.Is(err, pool.ErrChanged) || !strings.Contains(err.Error(), "exampleapp/"+tt.host) {
					t.Fatalf("Repool: %v, want ErrChanged naming exampleapp/%s", err, tt.host)
				}
				if now := lb.serversState(t, "exampleapp"); now != was {
					t.Errorf("a refused Repool wrote:\nbefore %s\nafter  %s", was, now)
				}
				return
			}
			if err != nil {
				t.Fatalf("Repool: %v", err)
			}
			s := lb.server(t, "exampleapp", tt.host)
			if s.Admin != 0 || s.Weight != before.Weight || !s.FullyUp() {
				t.Errorf("after Repool haproxy shows %+v, want UP, admin state 0, weight %d", s, before.Weight)
			}
		})
	}
}

// repoolStatesLB is an HAProxy with h1 checked and UP, h2 tracking h1, h3
// disabled in the config and h4 without checks, and a backend for it.
func repoolStatesLB(t *testing.T) (*haproxyServer, pool.Backend) {
	a := newApp(t, "127.0.0.1")
	lb := startHAProxy(t, "exampleapp", []lbServer{
		{name: "h1", addr: a.addr, weight: 10, check: true},
		{name: "h2", addr: a.addr, weight: 20, extra: "track exampleapp/h1"},
		{name: "h3", addr: "127.0.1.203:9", weight: 30, extra: "disabled"},
		{name: "h4", addr: "127.0.1.204:9", weight: 40},
	})
	eventually(t, "h1 and h2 are UP", func() error {
		for _, s := range []string{"h1", "h2"} {
			if st := lb.server(t, "exampleapp", s); !st.FullyUp() {
				return errors.New(s + " is " + st.Status)
			}
		}
		return nil
	})
	b, err := pool.New(pool.Config{
		Backend:       pool.BackendHAProxy,
		VerifyTimeout: 5 * time.Second,
		DrainTimeout:  5 * time.Second,
		HAProxy:       pool.HAProxyConfig{Address: lb.api, Backend: "exampleapp", Timeout: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return lb, b
}
