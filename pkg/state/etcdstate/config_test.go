package etcdstate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

func TestConfigDefaults(t *testing.T) {
	c := etcdstate.Config{Prefix: "/x"}.WithDefaults()
	if c.Prefix != "/x/" || c.DialTimeout != 5*time.Second || c.RequestTimeout != 5*time.Second || c.LeaseTTL != 12*time.Second {
		t.Errorf("WithDefaults = %+v", c)
	}
	if c := (etcdstate.Config{}).WithDefaults(); c.Prefix != "/deployctl/" {
		t.Errorf("default prefix %q", c.Prefix)
	}
}

// TestOpenRefuses: a configuration that cannot work is refused before
// connecting, saying what is wrong, and never with a password in it.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	base := etcdstate.Config{Endpoints: []string{"http://127.0.0.1:1"}, LogDir: dir}
	tests := []struct {
		name   string
		change func(*etcdstate.Config)
		want   string
	}{
		{"no endpoints", func(c *etcdstate.Config) { c.Endpoints = nil }, "no endpoints"},
		{"no log dir", func(c *etcdstate.Config) { c.LogDir = "" }, "log directory"},
		{"short lease", func(c *etcdstate.Config) { c.LeaseTTL = time.Millisecond }, "lease_ttl"},
		{"user without password", func(c *etcdstate.Config) { c.Username = "deployctl" }, "needs password_file"},
		{"password without user", func(c *etcdstate.Config) { c.PasswordFile = empty }, "needs a username"},
		{"missing password file", func(c *etcdstate.Config) { c.Username, c.PasswordFile = "u", filepath.Join(dir, "nope") }, "password_file"},
		{"empty password file", func(c *etcdstate.Config) { c.Username, c.PasswordFile = "u", empty }, "empty"},
		{"cert without key", func(c *etcdstate.Config) { c.TLS.CertFile = filepath.Join(dir, "c.pem") }, "tls"},
		{"unreachable", func(c *etcdstate.Config) {
			c.RequestTimeout, c.DialTimeout = 200*time.Millisecond, 200*time.Millisecond
		}, "did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			s, err := etcdstate.Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestAuth: with etcd's auth on, the store logs in with the password
// file's first line; a wrong password is refused without being printed.
func TestAuth(t *testing.T) {
	e := startEtcd(t)
	ctx := e.ctx(t)
	for _, step := range []func() error{
		func() error { _, err := e.cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := e.cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := e.cli.RoleAdd(ctx, "deploy"); return err },
		func() error {
			_, err := e.cli.RoleGrantPermission(ctx, "deploy", "/deployctl/", clientv3.GetPrefixRangeEnd("/deployctl/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := e.cli.UserAdd(ctx, "deployctl", "s3cret-pw"); return err },
		func() error { _, err := e.cli.UserGrantRole(ctx, "deployctl", "deploy"); return err },
		func() error { _, err := e.cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	pw := func(p string) func(*etcdstate.Config) {
		f := filepath.Join(dir, p)
		os.WriteFile(f, []byte(p+"\nignored second line\n"), 0o600)
		return func(c *etcdstate.Config) { c.Username, c.PasswordFile = "deployctl", f }
	}
	s := open(t, e, pw("s3cret-pw"))
	l := lock(t, s, "prod", alice)
	if err := s.Save("prod", state.State{Schema: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}

	cfg := etcdstate.Config{Endpoints: []string{e.endpoint}, LogDir: dir, RequestTimeout: time.Second}
	pw("wrong-pw")(&cfg)
	_, err := etcdstate.Open(context.Background(), cfg)
	if err == nil || errors.Is(err, etcdstate.ErrUnreachable) || !strings.Contains(err.Error(), `"deployctl"`) {
		t.Fatalf("wrong password: %v, want an authentication error naming the user", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("the error prints the password: %v", err)
	}
}
