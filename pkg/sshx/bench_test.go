package sshx_test

import (
	"context"
	"testing"

	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
)

// BenchmarkRun compares one remote command over the reused connection
// (the normal case: one session on an open connection) with the same
// command over a fresh connection (TCP, key exchange, authentication).
// Target for "reused" on loopback: under 2ms per command.
func BenchmarkRun(b *testing.B) {
	f := sshdtest.StartFleet(b, 1)
	b.Setenv("SSH_AUTH_SOCK", "")
	cfg := sshx.Config{
		IdentityFiles: sshx.Paths{f.Key.File},
		KnownHosts:    sshx.Paths{f.KnownHosts},
		ConfigFile:    sshx.ConfigFileNone,
	}
	tg := target(f.Servers[0])
	ctx := context.Background()

	b.Run("reused", func(b *testing.B) {
		c, err := sshx.Dial(ctx, cfg, tg)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			if _, err := c.Run(ctx, nil, "true"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			c, err := sshx.Dial(ctx, cfg, tg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Run(ctx, nil, "true"); err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
