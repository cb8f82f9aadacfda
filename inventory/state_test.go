package inventory

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStateSection(t *testing.T) {
	const etcdPool = "pool: {backend: etcd, etcd: {endpoints: [\"http://127.0.0.1:2379\"], key: \"/pools/{host}\", username: deploy, password_file: /etc/deployctl/etcd.pw}}\n"
	tests := []struct {
		name, yaml string
		problem    string // a problem's path and words; "" for valid
		check      func(t *testing.T, s StateConfig)
	}{
		{name: "default is local", yaml: "", check: func(t *testing.T, s StateConfig) {
			if s.Backend != StateLocal {
				t.Errorf("backend %q", s.Backend)
			}
		}},
		{name: "etcd takes the pool's etcd", yaml: etcdPool + "state: {backend: etcd}\n", check: func(t *testing.T, s StateConfig) {
			e := s.Etcd
			if !slices.Equal(e.Endpoints, []string{"http://127.0.0.1:2379"}) || e.Username != "deploy" || e.PasswordFile != "/etc/deployctl/etcd.pw" ||
				e.Prefix != DefaultStatePrefix || e.LeaseTTL != DefaultStateLeaseTTL {
				t.Errorf("etcd state %+v", e)
			}
		}},
		{name: "etcd of its own", yaml: etcdPool + "state: {backend: etcd, etcd: {endpoints: [\"https://etcd.example:2379\"], prefix: /team/, lease_ttl: 15s}}\n", check: func(t *testing.T, s StateConfig) {
			e := s.Etcd
			if !slices.Equal(e.Endpoints, []string{"https://etcd.example:2379"}) || e.Username != "" || e.Prefix != "/team/" || e.LeaseTTL != 15*time.Second {
				t.Errorf("etcd state %+v", e)
			}
		}},
		{name: "etcd without endpoints", yaml: "state: {backend: etcd}\n", problem: "state.etcd.endpoints: required"},
		{name: "unknown backend", yaml: "state: {backend: consul}\n", problem: `state.backend: "consul": want local or etcd`},
		{name: "bad endpoint", yaml: "state: {backend: etcd, etcd: {endpoints: [\"127.0.0.1:2379\"]}}\n", problem: "state.etcd.endpoints[0]"},
		{name: "short lease", yaml: etcdPool + "state: {backend: etcd, etcd: {lease_ttl: 1s}}\n", problem: "state.etcd.lease_ttl: 1s: want at least 5s"},
		{name: "bad prefix", yaml: etcdPool + "state: {backend: etcd, etcd: {prefix: deployctl}}\n", problem: "state.etcd.prefix"},
		{name: "username without password", yaml: "state: {backend: etcd, etcd: {endpoints: [\"http://127.0.0.1:2379\"], username: u}}\n", problem: "state.etcd.password_file: required with username"},
		{name: "unknown key", yaml: "state: {backend: local, dir: /x}\n", problem: "state.dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "deployctl.yaml", "app: web\nsource: {repo: ./repo}\nservice: {start: [/bin/true], stop: [/bin/true], port: 8080}\n"+tt.yaml)
			write(t, dir, "environments/prod/inventory.yaml", "hosts:\n  - {name: web1, address: 127.0.1.1}\ngroups:\n  main: [web1]\n")
			err := validateDir(dir)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("want a problem %q, got:\n%v", tt.problem, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want valid, got:\n%v", err)
			}
			p, err := Open(filepath.Join(dir, DefaultConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			env, err := p.Env("prod")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, env.State)
		})
	}
}

// The notify and metrics sections are validated where they are written.
func TestNotifyAndMetricsSections(t *testing.T) {
	for _, tt := range []struct{ yaml, problem string }{
		{"notify: {webhooks: [{url: 'ftp://chat/hook'}]}\n", "deployctl.yaml:4: notify.webhooks[0].url"},
		{"notify: {commands: [{argv: []}]}\n", "notify.commands[0].argv"},
		{"metrics: {textfile: /var/lib/node_exporter/deploy.txt}\n", "metrics.textfile"},
		{"metrics: {pushgateway: {url: 'localhost:9091'}}\n", "metrics.pushgateway.url"},
		{"notify: {webhooks: [{url: 'https://chat.example/hook'}]}\nmetrics: {textfile: /var/lib/node_exporter/deployctl.prom}\n", ""},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "deployctl.yaml", "app: web\nsource: {repo: ./repo}\nservice: {start: [/bin/true], stop: [/bin/true], port: 8080}\n"+tt.yaml)
			write(t, dir, "environments/prod/inventory.yaml", "hosts:\n  - {name: web1, address: 127.0.1.1}\ngroups:\n  main: [web1]\n")
			err := validateDir(dir)
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("want valid, got:\n%v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Fatalf("want a problem %q, got:\n%v", tt.problem, err)
			}
		})
	}
}
