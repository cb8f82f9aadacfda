package sshx

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
	"gopkg.in/yaml.v3"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultPort           = 22
	DefaultConnectTimeout = 10 * time.Second
	DefaultCommandTimeout = 10 * time.Minute
	DefaultKeepalive      = 15 * time.Second
	DefaultParallel       = 10
	DefaultMaxOutput      = 16 << 20

	// ConfigFileNone as Config.ConfigFile ignores every ssh_config file.
	ConfigFileNone = "none"
)

// defaultIdentityNames are tried, in order, from ~/.ssh when neither
// Config.IdentityFiles nor ssh_config name an identity file.
var defaultIdentityNames = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// Config is the ssh: section of deployctl's configuration. Zero values mean
// the named defaults; Dial applies them, so a loader should pass the section
// as written rather than filling defaults itself (an explicit User or Port
// must stay distinguishable from "not set" to rank it against ssh_config).
//
// Where a setting can come from several places, the most specific wins:
// the inventory's host (Target) first, then this section when set, then the
// host's entry in ssh_config, then the default.
type Config struct {
	User           string        `yaml:"user"`            // default: ssh_config User, then the current user
	Port           int           `yaml:"port"`            // default 22; a host's own port overrides
	IdentityFiles  Paths         `yaml:"identity_files"`  // default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa if present
	KnownHosts     Paths         `yaml:"known_hosts"`     // default ~/.ssh/known_hosts
	ConfigFile     string        `yaml:"config_file"`     // default ~/.ssh/config if present; "none" to ignore
	AcceptNew      bool          `yaml:"accept_new"`      // OpenSSH accept-new: add unknown keys, still refuse changed ones
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // default 10s: TCP connect plus SSH handshake, per hop
	CommandTimeout time.Duration `yaml:"command_timeout"` // default 10m: bound on any one command
	Keepalive      time.Duration `yaml:"keepalive"`       // default 15s; 3 unanswered in a row drop the connection
	Parallel       int           `yaml:"parallel"`        // fan-out bound, default 10
	MaxOutput      int           `yaml:"max_output"`      // bytes of stdout Run keeps, default 16 MiB (error beyond)
}

// Paths is a list of file names that YAML may also give as a single string
// (known_hosts: ~/.ssh/known_hosts).
type Paths []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *Paths) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*p = Paths{s}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*p = list
	return nil
}

// Validate reports every problem in c at once, with field paths relative to
// the ssh: section.
func (c Config) Validate() []*field.Error {
	var errs []*field.Error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, field.Errorf("port", "must be between 1 and 65535 (0 means %d), got %d", DefaultPort, c.Port))
	}
	for i, f := range c.IdentityFiles {
		if f == "" {
			errs = append(errs, field.Errorf(fmt.Sprintf("identity_files[%d]", i), "must not be empty"))
		}
	}
	for i, f := range c.KnownHosts {
		if f == "" {
			errs = append(errs, field.Errorf(fmt.Sprintf("known_hosts[%d]", i), "must not be empty"))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"connect_timeout", c.ConnectTimeout},
		{"command_timeout", c.CommandTimeout},
		{"keepalive", c.Keepalive},
	} {
		if d.v < 0 {
			errs = append(errs, field.Errorf(d.name, "must not be negative, got %s", d.v))
		}
	}
	if c.Parallel < 0 {
		errs = append(errs, field.Errorf("parallel", "must not be negative (0 means %d), got %d", DefaultParallel, c.Parallel))
	}
	if c.MaxOutput < 0 {
		errs = append(errs, field.Errorf("max_output", "must not be negative (0 means %d), got %d", DefaultMaxOutput, c.MaxOutput))
	}
	return errs
}

// withDefaults returns c with every zero field that has a fixed default
// filled in. User, Port and IdentityFiles stay empty here: they are ranked
// against ssh_config per host in resolve.
func (c Config) withDefaults() Config {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.Keepalive == 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if len(c.KnownHosts) == 0 {
		c.KnownHosts = Paths{filepath.Join(homeDir(), ".ssh", "known_hosts")}
	}
	return c
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// expandTilde turns a leading "~/" into the home directory.
func expandTilde(p string) string {
	if p == "~" {
		return homeDir()
	}
	if len(p) > 1 && p[0] == '~' && p[1] == '/' {
		return filepath.Join(homeDir(), p[2:])
	}
	return p
}
