package testfleet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Fleet is a running fleet, as fleet.sh up described it in fleet.json.
type Fleet struct {
	Dir           string   // FLEET_DIR
	Hosts         []Host   // host1..hostN
	LBURL         string   // HAProxy frontend, "http://127.0.0.1:PORT"
	HAProxyAPI    string   // runtime API TCP address, "127.0.0.1:PORT"
	HAProxySocket string   // runtime API unix socket path
	Backend       string   // HAProxy backend whose servers are named like the hosts
	LBMode        string   // LBStrict (no retry, no redispatch) or LBForgiving
	EtcdEndpoints []string // etcd client URLs
	PoolPrefix    string   // conftool prefix; a host's key is PoolPrefix + host name
	PrometheusURL string   // "http://127.0.0.1:PORT"
	RepoDir       string   // the example app's git repository
	KeyFile       string   // client private key (id_ed25519)
	KnownHosts    string   // known_hosts with every host's key
	SSHConfig     string   // ssh_config with a Host entry per host
	ConfigFile    string   // base deployctl.yaml
	EnvName       string   // environment name in ConfigFile ("fleet")
	App           string   // service name ("exampleapp")
	DeployDir     string   // deploy_dir on the hosts ("/srv/deploy")
	StartArgv     []string // service start argv, with {release_dir}, {address}, {host}
	StopArgv      []string // service stop argv

	revs map[string]string
}

// Host is one fleet host.
type Host struct {
	Name    string // "host1"
	Address string // "127.0.1.1"
	SSHPort int
	AppPort int
	SrvDir  string // the host's /srv, seen from outside
}

// AppURL is the base URL of the host's app, "http://127.0.1.1:PORT".
func (h Host) AppURL() string {
	return "http://" + h.AppAddr()
}

// AppAddr is the host's app address, "127.0.1.1:PORT".
func (h Host) AppAddr() string {
	return h.Address + ":" + strconv.Itoa(h.AppPort)
}

// Path maps a path on the host under /srv to where it is seen from outside:
// Path("/srv/log/exampleapp.log") is SrvDir + "/log/exampleapp.log". A path
// outside /srv maps to "".
func (h Host) Path(srvPath string) string {
	p := filepath.Clean(srvPath)
	if p != "/srv" && !strings.HasPrefix(p, "/srv/") {
		return ""
	}
	return filepath.Join(h.SrvDir, strings.TrimPrefix(p, "/srv"))
}

// Rev returns the full commit hash of a tag or branch of the example repo
// (v1, v2, bad-start, bad-health, bad-log, bad-5xx, bad-slowbind, main),
// or "" for any other name.
func (f *Fleet) Rev(tag string) string {
	return f.revs[tag]
}

// Host returns the host named name, or fails t.
func (f *Fleet) Host(t testing.TB, name string) Host {
	t.Helper()
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("fleet has no host %q", name)
	return Host{}
}

// PoolKey returns the etcd key that pools host.
func (f *Fleet) PoolKey(host string) string {
	return f.PoolPrefix + host
}

// description is fleet.json.
type description struct {
	Dir   string `json:"dir"`
	Hosts []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		SSHPort int    `json:"ssh_port"`
		AppPort int    `json:"app_port"`
		SrvDir  string `json:"srv_dir"`
	} `json:"hosts"`
	LBURL         string            `json:"lb_url"`
	HAProxyAPI    string            `json:"haproxy_api"`
	HAProxySocket string            `json:"haproxy_socket"`
	Backend       string            `json:"backend"`
	LBMode        string            `json:"lb_mode"`
	EtcdEndpoints []string          `json:"etcd_endpoints"`
	PoolPrefix    string            `json:"pool_prefix"`
	PrometheusURL string            `json:"prometheus_url"`
	RepoDir       string            `json:"repo_dir"`
	KeyFile       string            `json:"key_file"`
	KnownHosts    string            `json:"known_hosts"`
	SSHConfig     string            `json:"ssh_config"`
	ConfigFile    string            `json:"config_file"`
	EnvName       string            `json:"env_name"`
	App           string            `json:"app"`
	DeployDir     string            `json:"deploy_dir"`
	Start         []string          `json:"start"`
	Stop          []string          `json:"stop"`
	Revs          map[string]string `json:"revs"`
}

// load reads dir/fleet.json.
func load(dir string) (*Fleet, error) {
	b, err := os.ReadFile(filepath.Join(dir, "fleet.json"))
	if err != nil {
		return nil, fmt.Errorf("read fleet description: %w", err)
	}
	var d description
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parse %s/fleet.json: %w", dir, err)
	}
	if len(d.Hosts) == 0 || len(d.Start) == 0 || len(d.Stop) == 0 || d.Revs["v1"] == "" {
		return nil, fmt.Errorf("%s/fleet.json is incomplete", dir)
	}
	f := &Fleet{
		Dir: d.Dir, LBURL: d.LBURL, HAProxyAPI: d.HAProxyAPI, HAProxySocket: d.HAProxySocket,
		Backend: d.Backend, LBMode: d.LBMode, EtcdEndpoints: d.EtcdEndpoints, PoolPrefix: d.PoolPrefix,
		PrometheusURL: d.PrometheusURL, RepoDir: d.RepoDir, KeyFile: d.KeyFile,
		KnownHosts: d.KnownHosts, SSHConfig: d.SSHConfig, ConfigFile: d.ConfigFile,
		EnvName: d.EnvName, App: d.App, DeployDir: d.DeployDir,
		StartArgv: d.Start, StopArgv: d.Stop, revs: d.Revs,
	}
	for _, h := range d.Hosts {
		f.Hosts = append(f.Hosts, Host{Name: h.Name, Address: h.Address, SSHPort: h.SSHPort, AppPort: h.AppPort, SrvDir: h.SrvDir})
	}
	return f, nil
}
