package sshx

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // field paths, in order
	}{
		{"zero value is valid", Config{}, nil},
		{"full valid", Config{User: "deploy", Port: 2222, IdentityFiles: Paths{"~/.ssh/deploy"}, KnownHosts: Paths{"/etc/ssh/ssh_known_hosts"},
			ConnectTimeout: time.Second, CommandTimeout: time.Minute, Keepalive: time.Second, Parallel: 4, MaxOutput: 1024}, nil},
		{"every problem at once", Config{Port: 70000, IdentityFiles: Paths{"a", ""}, KnownHosts: Paths{""},
			ConnectTimeout: -1, CommandTimeout: -1, Keepalive: -1, Parallel: -1, MaxOutput: -1},
			[]string{"port", "identity_files[1]", "known_hosts[0]", "connect_timeout", "command_timeout", "keepalive", "parallel", "max_output"}},
		{"negative port", Config{Port: -1}, []string{"port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.cfg.Validate()
			var got []string
			for _, e := range errs {
				got = append(got, e.Path)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("Validate() paths = %v, want %v (errors %v)", got, tt.want, errs)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Config
	}{
		{"known_hosts as a string", "known_hosts: /a\n", Config{KnownHosts: Paths{"/a"}}},
		{"known_hosts as a list", "known_hosts: [/a, /b]\nidentity_files: [~/k]\n", Config{KnownHosts: Paths{"/a", "/b"}, IdentityFiles: Paths{"~/k"}}},
		{"durations", "connect_timeout: 5s\ncommand_timeout: 2m\nkeepalive: 1s\n", Config{ConnectTimeout: 5 * time.Second, CommandTimeout: 2 * time.Minute, Keepalive: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Config
			dec := yaml.NewDecoder(strings.NewReader(tt.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !equalConfig(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var c Config
	if err := yaml.Unmarshal([]byte("known_hosts: {a: b}\n"), &c); err == nil {
		t.Fatal("known_hosts as a map: no error")
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.ConnectTimeout != DefaultConnectTimeout || got.CommandTimeout != DefaultCommandTimeout ||
		got.Keepalive != DefaultKeepalive || got.Parallel != DefaultParallel || got.MaxOutput != DefaultMaxOutput {
		t.Fatalf("defaults not applied: %+v", got)
	}
	if len(got.KnownHosts) != 1 || !strings.HasSuffix(got.KnownHosts[0], "/.ssh/known_hosts") {
		t.Fatalf("known_hosts default = %v", got.KnownHosts)
	}
	if got.User != "" || got.Port != 0 {
		t.Fatalf("user and port must stay unset for ranking against ssh_config: %+v", got)
	}
}

func equalConfig(a, b Config) bool {
	return strings.Join(a.KnownHosts, "|") == strings.Join(b.KnownHosts, "|") &&
		strings.Join(a.IdentityFiles, "|") == strings.Join(b.IdentityFiles, "|") &&
		a.User == b.User && a.Port == b.Port && a.ConfigFile == b.ConfigFile && a.AcceptNew == b.AcceptNew &&
		a.ConnectTimeout == b.ConnectTimeout && a.CommandTimeout == b.CommandTimeout && a.Keepalive == b.Keepalive &&
		a.Parallel == b.Parallel && a.MaxOutput == b.MaxOutput
}
