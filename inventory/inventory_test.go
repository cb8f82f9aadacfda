package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../testdata/config"

func fixtureDirs(t *testing.T, kind string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(fixtures, kind, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no %s fixtures: %v", kind, err)
	}
	return dirs
}

// Every bad fixture fails validation with each expected "file:line: path: msg"
// (paths relative to the fixture directory).
func TestBadFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t, "bad") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expect"))
			if err != nil {
				t.Fatal(err)
			}
			err = validateDir(dir)
			if err == nil {
				t.Fatal("validation passed, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			got := strings.ReplaceAll(err.Error(), dir+"/", "")
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(got, line) {
					t.Errorf("missing %q in:\n%s", line, got)
				}
			}
		})
	}
}

func TestGoodFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t, "good") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if err := validateDir(dir); err != nil {
				t.Fatalf("want valid, got:\n%v", err)
			}
		})
	}
}

func validateDir(dir string) error {
	p, err := Open(filepath.Join(dir, DefaultConfigFile))
	if err != nil {
		return err
	}
	return p.ValidateAll()
}

// Problems in several places are all reported at once.
func TestEveryProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "deployctl.yaml", "source: {repo: x}\nservice: {port: 0}\nbogus: 1\n")
	write(t, dir, "environments/a/inventory.yaml", "hosts:\n  - {name: h1}\ngroups:\n  g: [h1, h2]\n")
	p, err := Open(filepath.Join(dir, "deployctl.yaml"))
	if err == nil {
		err = p.ValidateAll()
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	// The unknown key stops decoding of the base file before validation.
	if len(errs) != 1 || !strings.Contains(errs[0].String(), `deployctl.yaml:3: bogus: unknown key "bogus"`) {
		t.Fatalf("got %v", errs)
	}
	write(t, dir, "deployctl.yaml", "source: {repo: x}\nservice: {port: 0}\n")
	p, err = Open(filepath.Join(dir, "deployctl.yaml"))
	if err == nil {
		err = p.ValidateAll()
	}
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, want := range []string{"app: required", "service.start: required", "service.port: required", "hosts[0].address: required", `groups.g[1]: unknown host "h2"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestOverlay(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "deployctl.yaml", `app: web
source: {repo: ./repo}
service: {start: [a], stop: [b], port: 8080, stop_timeout: 5s}
rollout: {batch_size: 1, canary_wait: 1m}
vars: {dc: base, tier: web}
`)
	write(t, dir, "environments/prod/inventory.yaml", `service: {port: 9090}
rollout: {batch_size: "50%"}
vars: {dc: eqiad}
hosts:
  - {name: h1, address: 10.0.0.1, vars: {rack: a1}}
  - {name: h2, address: 10.0.0.2}
  - {name: h3, address: 10.0.0.3}
  - {name: h4, address: 10.0.0.4}
groups:
  canary: {hosts: [h1], vars: {tier: canary}}
  main: [h2, h3, h4]
`)
	p, err := Open(filepath.Join(dir, "deployctl.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := p.Env("prod")
	if err != nil {
		t.Fatal(err)
	}
	if env.Service.Port != 9090 || env.Service.StopTimeout.String() != "5s" || env.Service.Start[0] != "a" {
		t.Errorf("service not overlaid key by key: %+v", env.Service)
	}
	if env.Rollout.CanaryWait.String() != "1m0s" || env.Rollout.BatchSize.String() != "50%" {
		t.Errorf("rollout not overlaid: %+v", env.Rollout)
	}
	v := env.HostVars("h1", "abc")
	for k, want := range map[string]string{"dc": "eqiad", "tier": "canary", "rack": "a1", "host": "h1", "address": "10.0.0.1", "port": "9090", "release_dir": "/srv/deploy/web/revs/abc", "group": "canary", "env": "prod"} {
		if v[k] != want {
			t.Errorf("HostVars[%s] = %q, want %q", k, v[k], want)
		}
	}
	if v := env.HostVars("h2", ""); v["tier"] != "web" || v["release_dir"] != "/srv/deploy/web/current" {
		t.Errorf("h2 vars: %v", v)
	}
	var got [][]string
	for _, b := range env.Batches() {
		got = append(got, b.Hosts)
	}
	if want := [][]string{{"h1"}, {"h2", "h3"}, {"h4"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v", got, want)
	}
}

func TestBatchSize(t *testing.T) {
	hosts := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + i))
		}
		return out
	}
	sizes := func(bs [][]string) []int {
		var out []int
		for _, b := range bs {
			out = append(out, len(b))
		}
		return out
	}
	tests := []struct {
		name  string
		ramp  []string
		hosts int
		want  []int
	}{
		{"default one at a time", nil, 3, []int{1, 1, 1}},
		{"count", []string{"2"}, 5, []int{2, 2, 1}},
		{"count above group", []string{"10"}, 3, []int{3}},
		{"percent rounds up", []string{"25%"}, 10, []int{3, 3, 3, 1}},
		{"small percent is one host", []string{"1%"}, 3, []int{1, 1, 1}},
		{"ramp repeats last", []string{"1", "2", "50%"}, 10, []int{1, 2, 5, 2}},
		{"empty group", []string{"1"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bs BatchSize
			for _, s := range tt.ramp {
				sz, err := ParseSize(s)
				if err != nil {
					t.Fatal(err)
				}
				bs = append(bs, sz)
			}
			if got := sizes(bs.Batches(hosts(tt.hosts))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("batches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSizeRejects(t *testing.T) {
	for _, s := range []string{"0", "-1", "0%", "101%", "x%", "1.5", "", "abc"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
}

func TestServiceArgvSystemd(t *testing.T) {
	env := &Env{Name: "e", Config: Config{App: "a", Service: Service{SystemdUnit: "a.service"}, Hosts: []Host{{Name: "h"}}}}
	argv, ok, err := env.ServiceArgv("restart", "h", "")
	if err != nil || !ok || strings.Join(argv, " ") != "systemctl restart a.service" {
		t.Fatalf("got %q %v %v", argv, ok, err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every check field that is filled per host at run time is tried for every
// host at validation, with the check's own path; fields that are not
// templates keep their braces.
func TestCheckTemplatesValidated(t *testing.T) {
	tests := []struct {
		check string // one element of checks, in flow style
		path  string // the problem's path; "" for none
	}{
		{`{name: c, type: http, url: "http://{nope}/"}`, "checks[0].url"},
		{`{name: c, type: http, url: "http://x/", host_header: "{nope}"}`, "checks[0].host_header"},
		{`{name: c, type: http, url: "http://x/", headers: {X-A: "{nope}"}}`, "checks[0].headers.X-A"},
		{`{name: c, type: http, url: "http://x/", body_contains: "{nope}"}`, "checks[0].body_contains"},
		{`{name: c, type: http, url: "http://x/", json_field: a, json_value: "{nope}"}`, "checks[0].json_value"},
		{`{name: c, type: http, url: "http://x/", body_regex: "{nope}"}`, ""},
		{`{name: c, type: http, url: "http://x/", json_field: "{nope}"}`, ""},
		{`{name: c, type: command, argv: [/bin/true, "{nope}"]}`, "checks[0].argv[1]"},
		{`{name: c, type: log, path: "/var/log/{nope}.log"}`, "checks[0].path"},
		{`{name: c, type: journald, unit: "{nope}.service"}`, "checks[0].unit"},
		{`{name: c, type: metric, query: "{nope}", max: 1}`, "checks[0].query"},
		{`{name: c, type: metric, mode: scrape, url: "http://{nope}/metrics", max_error_ratio: 0.1}`, "checks[0].url"},
	}
	for _, tt := range tests {
		t.Run(tt.check, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "deployctl.yaml", "app: web\nsource: {repo: ./repo}\nservice: {start: [/bin/true], stop: [/bin/true], port: 8080}\n"+
				"checks:\n  - "+tt.check+"\n")
			write(t, dir, "environments/prod/inventory.yaml", "hosts:\n  - {name: web1, address: 127.0.1.1}\ngroups:\n  main: [web1]\n")
			err := validateDir(dir)
			if tt.path == "" {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			if want := tt.path + ": host web1: unknown placeholder {nope}"; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("want %q, got:\n%v", want, err)
			}
		})
	}
}
