package sshx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
)

func TestPool(t *testing.T) {
	f := sshdtest.StartFleet(t, 3)
	p, err := sshx.NewPool(fleetConfig(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()

	// Every step of a rollout asks the pool again; each host is dialled once.
	for step := 0; step < 3; step++ {
		errs := sshx.Each(ctx, p.Parallel(), len(f.Servers), func(ctx context.Context, i int) error {
			c, err := p.Client(ctx, target(f.Servers[i]))
			if err != nil {
				return err
			}
			_, err = c.Run(ctx, nil, "true")
			return err
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range f.Servers {
		c, err := p.Client(ctx, target(s))
		if err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Dials != 1 || st.Sessions != 3 {
			t.Fatalf("%s: %+v, want 1 dial and 3 sessions", s.Name, st)
		}
	}

	moved := target(f.Servers[0])
	moved.Port++
	if _, err := p.Client(ctx, moved); err == nil {
		t.Fatal("same name, other port: no error")
	}

	c, _ := p.Client(ctx, target(f.Servers[0]))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, nil, "true"); !errors.Is(err, sshx.ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
	if _, err := p.Client(ctx, target(f.Servers[1])); !errors.Is(err, sshx.ErrClosed) {
		t.Fatalf("client after close: %v", err)
	}
}
