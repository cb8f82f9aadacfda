package pool

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
)

// Backend names accepted in Config.Backend.
const (
	BackendEtcd    = "etcd"
	BackendHAProxy = "haproxy"
	BackendNone    = "none"
)

// Defaults for Config; a zero value in Config means the default.
const (
	DefaultBackend        = BackendNone
	DefaultMinPooled      = "50%" // like PyBal's depool threshold: at least half the pool keeps serving
	DefaultDrainTimeout   = 10 * time.Second
	DefaultVerifyTimeout  = 10 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultHAProxyTimeout = 5 * time.Second
	DefaultEtcdKey        = "/conftool/v1/pools/{dc}/{cluster}/{service}/{host}"
	DefaultServer         = "{host}"
)

// Config is the pool section of deployctl's configuration (the "pool:" key).
//
// min_pooled is a count ("2" or 2) or a percent of the pool ("50%", rounded
// up). It defaults to 50%, so on a pool of one host every depool is refused:
// a single-host environment has to say min_pooled: 0 and accept the outage.
type Config struct {
	Backend       string        `yaml:"backend"`        // etcd | haproxy | none (default none)
	MinPooled     string        `yaml:"min_pooled"`     // depool budget: count or percent of the pool
	DrainTimeout  time.Duration `yaml:"drain_timeout"`  // how long a depool waits for sessions to reach 0
	VerifyTimeout time.Duration `yaml:"verify_timeout"` // how long a write may take to show on the LB (or read back)
	Etcd          EtcdConfig    `yaml:"etcd"`
	HAProxy       HAProxyConfig `yaml:"haproxy"`
}

// EtcdConfig configures the etcd backend: one conftool key per host.
type EtcdConfig struct {
	Endpoints      []string      `yaml:"endpoints"`       // required, http:// or https:// URLs
	Key            string        `yaml:"key"`             // per-host template, default DefaultEtcdKey
	DialTimeout    time.Duration `yaml:"dial_timeout"`    // connecting (and authenticating)
	RequestTimeout time.Duration `yaml:"request_timeout"` // each get, transaction and LB status read
	Username       string        `yaml:"username"`        // optional; needs password_file
	PasswordFile   string        `yaml:"password_file"`   // first line is the password; never printed
	TLS            TLSConfig     `yaml:"tls"`

	// HAProxyStatus, when set, is the runtime API of an HAProxy fed from
	// these keys: depool and repool then wait until it shows the change (and
	// depool waits for the sessions to drain) instead of reading the key back.
	HAProxyStatus  string `yaml:"haproxy_status"`  // tcp://host:port or unix:///path
	HAProxyBackend string `yaml:"haproxy_backend"` // required with haproxy_status
	HAProxyServer  string `yaml:"haproxy_server"`  // per-host template, default {host}
}

// TLSConfig holds the client TLS files for etcd. All are optional; cert_file
// and key_file go together.
type TLSConfig struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// HAProxyConfig configures the haproxy backend: the runtime API of the load
// balancer itself.
type HAProxyConfig struct {
	Address string        `yaml:"address"` // required: tcp://host:port or unix:///path/haproxy.sock
	Backend string        `yaml:"backend"` // required: the HAProxy backend name
	Server  string        `yaml:"server"`  // per-host template, default {host}
	Timeout time.Duration `yaml:"timeout"` // each runtime API command
}

// WithDefaults returns c with every zero value replaced by its default.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Backend == "" {
		c.Backend = DefaultBackend
	}
	if c.MinPooled == "" {
		c.MinPooled = DefaultMinPooled
	}
	def(&c.DrainTimeout, DefaultDrainTimeout)
	def(&c.VerifyTimeout, DefaultVerifyTimeout)
	def(&c.Etcd.DialTimeout, DefaultDialTimeout)
	def(&c.Etcd.RequestTimeout, DefaultRequestTimeout)
	def(&c.HAProxy.Timeout, DefaultHAProxyTimeout)
	if c.Etcd.Key == "" {
		c.Etcd.Key = DefaultEtcdKey
	}
	if c.Etcd.HAProxyServer == "" {
		c.Etcd.HAProxyServer = DefaultServer
	}
	if c.HAProxy.Server == "" {
		c.HAProxy.Server = DefaultServer
	}
	return c
}

// Templates returns the per-host templates the chosen backend will fill, by
// field path relative to the pool section, so the loader can check that
// every host's vars fill them before anything runs.
func (c Config) Templates() map[string]string {
	c = c.WithDefaults()
	switch c.Backend {
	case BackendEtcd:
		t := map[string]string{"etcd.key": c.Etcd.Key}
		if c.Etcd.HAProxyStatus != "" {
			t["etcd.haproxy_server"] = c.Etcd.HAProxyServer
		}
		return t
	case BackendHAProxy:
		return map[string]string{"haproxy.server": c.HAProxy.Server}
	}
	return nil
}

// Validate reports every problem in c at once, with paths relative to the
// pool section. Only the chosen backend's section is checked.
func (c Config) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if c.MinPooled != "" {
		if _, err := ParseBudget(c.MinPooled); err != nil {
			add("min_pooled", "%v", err)
		}
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{
		{"drain_timeout", c.DrainTimeout},
		{"verify_timeout", c.VerifyTimeout},
		{"etcd.dial_timeout", c.Etcd.DialTimeout},
		{"etcd.request_timeout", c.Etcd.RequestTimeout},
		{"haproxy.timeout", c.HAProxy.Timeout},
	} {
		if d.v < 0 {
			add(d.path, "must not be negative (0 means the default)")
		}
	}
	switch c.Backend {
	case "", BackendNone:
	case BackendEtcd:
		errs = append(errs, field.Prefix("etcd", c.Etcd.validate())...)
	case BackendHAProxy:
		errs = append(errs, field.Prefix("haproxy", c.HAProxy.validate())...)
	default:
		add("backend", "unknown backend %q (want etcd, haproxy or none)", c.Backend)
	}
	return errs
}

func (e EtcdConfig) validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if len(e.Endpoints) == 0 {
		add("endpoints", "at least one endpoint is required")
	}
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		switch {
		case err != nil:
			add(fmt.Sprintf("endpoints[%d]", i), "%v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			add(fmt.Sprintf("endpoints[%d]", i), "%q: want an http:// or https:// URL", ep)
		case u.Host == "":
			add(fmt.Sprintf("endpoints[%d]", i), "%q: no host", ep)
		}
	}
	if e.Key != "" && !strings.HasPrefix(e.Key, "/") {
		add("key", "%q: an etcd key template must start with /", e.Key)
	}
	if e.Key != "" && !strings.Contains(e.Key, "{") {
		add("key", "%q: the key must be per host (use {host})", e.Key)
	}
	if (e.Username == "") != (e.PasswordFile == "") {
		add("password_file", "username and password_file go together")
	}
	if (e.TLS.CertFile == "") != (e.TLS.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	if e.HAProxyStatus != "" {
		if _, err := parseAddress(e.HAProxyStatus); err != nil {
			add("haproxy_status", "%v", err)
		}
		if e.HAProxyBackend == "" {
			add("haproxy_backend", "required with haproxy_status")
		} else if err := checkName(e.HAProxyBackend); err != nil {
			add("haproxy_backend", "%v", err)
		}
	}
	return errs
}

func (h HAProxyConfig) validate() []*field.Error {
	var errs []*field.Error
	if h.Address == "" {
		errs = append(errs, field.Errorf("address", "required (tcp://host:port or unix:///path)"))
	} else if _, err := parseAddress(h.Address); err != nil {
		errs = append(errs, field.Errorf("address", "%v", err))
	}
	if h.Backend == "" {
		errs = append(errs, field.Errorf("backend", "required"))
	} else if err := checkName(h.Backend); err != nil {
		errs = append(errs, field.Errorf("backend", "%v", err))
	}
	return errs
}
