package sshx_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// BenchmarkRun compares one remote command over the reused connection
// (the normal case: a command shell on an open connection; "session":
// one session of its own) with the same command over a fresh connection
// (TCP, key exchange, authentication).
// Target for "reused" on loopback: under 2ms per command. "floor" is the
// same command as a bare x/crypto/ssh session, without any deployctl
// code: what sshd and the remote login shell cost on this machine.
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
	b.Run("session", func(b *testing.B) {
		// The same command in a session of its own (Stream never uses a
		// command shell), as Run did before command shells.
		c, err := sshx.Dial(ctx, cfg, tg)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			if err := c.Stream(ctx, nil, io.Discard, "true"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		pem, err := os.ReadFile(f.Key.File)
		if err != nil {
			b.Fatal(err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			b.Fatal(err)
		}
		hostKeys, err := knownhosts.New(f.KnownHosts)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ssh.Dial("tcp", f.Servers[0].Addr(), &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKeys,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Run("true"); err != nil {
				b.Fatal(err)
			}
			s.Close()
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
