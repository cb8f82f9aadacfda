package sshx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestResolveTarget(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	write(t, conf, `
Host web1
  HostName 10.0.0.1
  User alice
  Port 2201
  IdentityFile ~/.ssh/web1
  IdentityFile %d/.ssh/%r-%h
  ProxyJump bastion

Host web2
  HostName %h.example.org
  ProxyJump none

Host bastion
  HostName 192.0.2.10
  User jumper
  Port 2022
`)
	sc, err := loadSSHConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	home := homeDir()
	tests := []struct {
		name   string
		cfg    Config
		target Target
		want   endpoint
	}{
		{
			name:   "ssh_config fills what the inventory and ssh section leave unset",
			target: Target{Name: "web1"},
			want: endpoint{name: "web1", host: "10.0.0.1", port: 2201, user: "alice",
				identities: []string{home + "/.ssh/web1", home + "/.ssh/alice-10.0.0.1"}, jumps: []string{"bastion"}},
		},
		{
			name:   "inventory address and port, then ssh section, beat ssh_config",
			cfg:    Config{User: "deploy", Port: 2222, IdentityFiles: Paths{"/keys/deploy"}},
			target: Target{Name: "web1", Address: "127.0.1.1", Port: 22022},
			want: endpoint{name: "web1", host: "127.0.1.1", port: 22022, user: "deploy",
				identities: []string{"/keys/deploy", home + "/.ssh/web1", home + "/.ssh/deploy-127.0.1.1"}, jumps: []string{"bastion"}},
		},
		{
			name:   "ssh section port beats ssh_config port",
			cfg:    Config{Port: 2222},
			target: Target{Name: "web1"},
			want: endpoint{name: "web1", host: "10.0.0.1", port: 2222, user: "alice",
				identities: []string{home + "/.ssh/web1", home + "/.ssh/alice-10.0.0.1"}, jumps: []string{"bastion"}},
		},
		{
			name:   "HostName %h token and ProxyJump none",
			cfg:    Config{User: "deploy", IdentityFiles: Paths{"/k"}},
			target: Target{Name: "web2"},
			want:   endpoint{name: "web2", host: "web2.example.org", port: 22, user: "deploy", identities: []string{"/k"}},
		},
		{
			name:   "unknown alias: name is the address",
			cfg:    Config{User: "deploy", IdentityFiles: Paths{"/k"}},
			target: Target{Name: "db1"},
			want:   endpoint{name: "db1", host: "db1", port: 22, user: "deploy", identities: []string{"/k"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveTarget(tt.cfg, sc, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if !equalEndpoint(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResolveJump(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	write(t, conf, "Host bastion\n  HostName 192.0.2.10\n  User jumper\n  Port 2022\n")
	sc, err := loadSSHConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{User: "deploy", Port: 2222, IdentityFiles: Paths{"/k"}}
	tests := []struct {
		name string
		spec string
		want endpoint
	}{
		{"alias from ssh_config; ssh section port does not apply", "bastion",
			endpoint{name: "bastion", host: "192.0.2.10", port: 2022, user: "jumper", identities: []string{"/k"}}},
		{"user and port in the spec win", "ops@bastion:2200",
			endpoint{name: "bastion", host: "192.0.2.10", port: 2200, user: "ops", identities: []string{"/k"}}},
		{"ssh:// form, unknown host", "ssh://10.1.1.1:2022",
			endpoint{name: "10.1.1.1", host: "10.1.1.1", port: 2022, user: "deploy", identities: []string{"/k"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveJump(cfg, sc, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !equalEndpoint(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	badPort := filepath.Join(dir, "badport")
	write(t, badPort, "Host web\n  Port abc\n")
	scBad, err := loadSSHConfig(badPort)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resolveTarget(Config{}, scBad, Target{Name: "web"}); err == nil {
		t.Error("bad Port in ssh config: no error")
	}
	for _, bad := range []string{"bastion:x", "bastion:0", "user@"} {
		if _, err := resolveJump(cfg, sc, bad); err == nil {
			t.Errorf("resolveJump(%q): no error", bad)
		}
	}
}

func TestLoadSSHConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	if sc, err := loadSSHConfig(ConfigFileNone); sc != nil || err != nil {
		t.Fatalf("none: %v, %v", sc, err)
	}
	if sc, err := loadSSHConfig(""); sc != nil || err != nil {
		t.Fatalf("default path missing is fine: %v, %v", sc, err)
	}
	if _, err := loadSSHConfig(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("explicit missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	write(t, bad, "Match foo bar\n")
	if _, err := loadSSHConfig(bad); err == nil {
		t.Fatal("unparseable config: no error")
	}
}

func TestExpandTokens(t *testing.T) {
	tokens := map[byte]string{'h': "host", 'r': "root"}
	for in, want := range map[string]string{
		"%h":      "host",
		"%r@%h":   "root@host",
		"100%%":   "100%",
		"%x":      "%x",
		"trail%":  "trail%",
		"no toks": "no toks",
	} {
		if got := expandTokens(in, tokens); got != want {
			t.Errorf("expandTokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func write(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func equalEndpoint(a, b endpoint) bool {
	return a.name == b.name && a.host == b.host && a.port == b.port && a.user == b.user &&
		slices.Equal(a.identities, b.identities) && slices.Equal(a.jumps, b.jumps)
}
