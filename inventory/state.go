package inventory

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
	"github.com/deployctl/deployctl/pkg/pool"
)

// State backends.
const (
	StateLocal = "local" // files in the state dir of one deploy host (default)
	StateEtcd  = "etcd"  // etcd: the lock and the record shared by every deploy host
)

// Defaults of the etcd state backend.
const (
	DefaultStatePrefix   = "/deployctl/"
	DefaultStateLeaseTTL = 12 * time.Second
	minStateLeaseTTL     = 5 * time.Second
)

// StateConfig says where the lock and the record of what is deployed live
// (the "state:" section). Run logs and git caches stay in the local state
// dir whatever the backend.
type StateConfig struct {
	Backend string          `yaml:"backend"` // local (default) or etcd
	Etcd    StateEtcdConfig `yaml:"etcd"`
}

// StateEtcdConfig is the etcd state backend. With the pool on etcd too, an empty
// endpoints list (and empty credentials) take the pool's: fencing needs the
// lock and the pool keys in one etcd.
type StateEtcdConfig struct {
	Endpoints      []string       `yaml:"endpoints"`
	Prefix         string         `yaml:"prefix"`        // default /deployctl/
	Username       string         `yaml:"username"`      // optional; needs password_file
	PasswordFile   string         `yaml:"password_file"` // first line is the password; never printed
	TLS            pool.TLSConfig `yaml:"tls"`
	LeaseTTL       time.Duration  `yaml:"lease_ttl"`       // the lock's lease, default 12s
	DialTimeout    time.Duration  `yaml:"dial_timeout"`    // default 5s
	RequestTimeout time.Duration  `yaml:"request_timeout"` // default 5s
}

// WithDefaults fills the etcd backend from the pool's etcd when the pool
// backend is etcd, and the prefix and lease.
func (s StateConfig) WithDefaults(p pool.Config) StateConfig {
	if s.Backend == "" {
		s.Backend = StateLocal
	}
	if s.Backend != StateEtcd {
		return s
	}
	e := &s.Etcd
	pe := p.WithDefaults().Etcd
	if len(e.Endpoints) == 0 && p.WithDefaults().Backend == pool.BackendEtcd {
		e.Endpoints = pe.Endpoints
		if e.Username == "" && e.PasswordFile == "" {
			e.Username, e.PasswordFile = pe.Username, pe.PasswordFile
		}
		if e.TLS == (pool.TLSConfig{}) {
			e.TLS = pe.TLS
		}
	}
	if e.Prefix == "" {
		e.Prefix = DefaultStatePrefix
	}
	if e.LeaseTTL == 0 {
		e.LeaseTTL = DefaultStateLeaseTTL
	}
	if e.DialTimeout == 0 {
		e.DialTimeout = 5 * time.Second
	}
	if e.RequestTimeout == 0 {
		e.RequestTimeout = 5 * time.Second
	}
	return s
}

// Validate checks the section as filled by WithDefaults.
func (s StateConfig) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	switch s.Backend {
	case StateLocal:
		return nil
	case StateEtcd:
	default:
		add("backend", "%q: want local or etcd", s.Backend)
		return errs
	}
	e := s.Etcd
	if len(e.Endpoints) == 0 {
		add("etcd.endpoints", "required with backend etcd (or put the pool on etcd: its endpoints are the default)")
	}
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(fmt.Sprintf("etcd.endpoints[%d]", i), "%q: want an http:// or https:// URL", ep)
		}
	}
	if !strings.HasPrefix(e.Prefix, "/") || !strings.HasSuffix(e.Prefix, "/") {
		add("etcd.prefix", "%q: want a key prefix that starts and ends with /", e.Prefix)
	}
	if e.Username != "" && e.PasswordFile == "" {
		add("etcd.password_file", "required with username")
	}
	if e.LeaseTTL < minStateLeaseTTL {
		add("etcd.lease_ttl", "%s: want at least %s (the lock is lost when a keepalive is late by the TTL)", e.LeaseTTL, minStateLeaseTTL)
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"etcd.dial_timeout", e.DialTimeout}, {"etcd.request_timeout", e.RequestTimeout}} {
		if d.v < 0 {
			add(d.path, "must not be negative")
		}
	}
	return errs
}
