package checks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deployctl/deployctl/pkg/field"
)

// exampleYAML has one check of every kind and mode, as a user writes them.
const exampleYAML = `
- name: port
  type: port
  port_timeout: 30s
- name: healthz
  type: http
  url: http://{address}:{port}/healthz
  headers: {X-Deploy: "{host}"}
  host_header: api.example.org
  expect_status: 200
  body_contains: ok
  json_field: status.db
  json_value: up
  max_latency: 500ms
  retries: 2
- name: selftest
  type: command
  argv: [/srv/app/current/bin/selftest, --host, "{host}"]
  timeout: 10s
- name: errors-in-log
  type: log
  path: /var/log/app/{host}.log
  format: json
  max_matches: 2
  relative: true
  max_increase_ratio: 2
- name: journal
  type: journald
  unit: app.service
  levels: [err, crit]
- name: 5xx
  type: metric
  query: 'sum(rate(http_requests_total{{host="{host}",code=~"5.."}[1m])) / sum(rate(http_requests_total{{host="{host}"}[1m]))'
  max: 0.01
  interval: 15s
  count: 4
  failure_limit: 1
- name: 5xx-scrape
  type: metric
  mode: scrape
  max_error_ratio: 0.02
  stage: depooled
- name: 5xx-vs-pool
  type: metric
  mode: relative
  stage: canary
  query: 'sum(rate(http_requests_total{{host=~"{host}",code=~"5.."}[1m])) / sum(rate(http_requests_total{{host=~"{host}"}[1m]))'
  requests_query: 'sum(increase(http_requests_total{{host=~"{host}"}[1m]))'
  max_increase: 0.02
  max_increase_ratio: 2
`

func decodeSpecs(t *testing.T, text string) []Spec {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	var specs []Spec
	if err := dec.Decode(&specs); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return specs
}

func TestExampleConfigIsValid(t *testing.T) {
	specs := decodeSpecs(t, exampleYAML)
	if len(specs) != 8 {
		t.Fatalf("decoded %d specs, want 8", len(specs))
	}
	for _, s := range specs {
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", s.Name, errs)
		}
	}
	set, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, c := range set.Checks() {
		stages = append(stages, c.Name()+"="+c.Stage().String())
	}
	want := []string{"port=depooled", "healthz=depooled", "selftest=depooled", "errors-in-log=depooled",
		"journal=depooled", "5xx=pooled", "5xx-scrape=depooled", "5xx-vs-pool=canary"}
	if !slices.Equal(stages, want) {
		t.Errorf("stages = %v, want %v", stages, want)
	}
	if got := specs[1].WithDefaults().Timeout; got != DefaultHTTPTimeout {
		t.Errorf("http default timeout = %s", got)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader("- name: x\n  type: http\n  url: http://a/\n  expect: 200\n"))
	dec.KnownFields(true)
	var specs []Spec
	if err := dec.Decode(&specs); err == nil || !strings.Contains(err.Error(), "expect") {
		t.Fatalf("decode with unknown key: err = %v, want one naming the key", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		paths []string // every problem's path, sorted
	}{
		{"no name, no type", "{}", []string{"name", "type"}},
		{"unknown type", "{name: a, type: ping}", []string{"type"}},
		{"bad stage and negative timeout", "{name: a, type: command, argv: [true], stage: later, timeout: -1s}", []string{"stage", "timeout"}},
		{"field of another type", "{name: a, type: http, url: 'http://x/', path: /var/log/x, query: up}", []string{"path", "query"}},
		{"field of another metric mode", "{name: a, type: metric, mode: scrape, max_error_ratio: 0.1, query: up, max: 1}", []string{"max", "query"}},
		{"port", "{name: a, type: port, from: moon, port: 70000, port_timeout: 10s, timeout: 5s}", []string{"from", "port", "timeout"}},
		{"http missing url", "{name: a, type: http}", []string{"url"}},
		{"http everything wrong", `{name: a, type: http, url: "ftp://x", method: get, headers: {Host: x, "a b": y}, expect_status: 42, body_regex: "(", json_value: up, retries: 99, max_latency: -1s}`,
			[]string{"body_regex", "expect_status", "headers.Host", "headers.a b", "json_value", "max_latency", "method", "retries", "url"}},
		{"http url template", "{name: a, type: http, url: '{scheme}://{address}/'}", nil},
		{"command empty", "{name: a, type: command}", []string{"argv"}},
		{"log", "{name: a, type: log, path: relative.log, format: xml, level_field: lvl, levels: ['ERROR!'], patterns: ['('], entry_start: '[', max_matches: -1, max_bytes: -5}",
			[]string{"entry_start", "format", "level_field", "levels[0]", "max_bytes", "max_matches", "path", "patterns[0]"}},
		{"log nothing to count", "{name: a, type: log, path: /x.log, levels: []}", []string{"levels"}},
		{"log patterns only", "{name: a, type: log, path: /x.log, levels: [], patterns: [panic]}", nil},
		{"log relative without bound", "{name: a, type: log, path: /x.log, relative: true}", []string{"relative"}},
		{"log bound without relative", "{name: a, type: log, path: /x.log, max_increase: 0.1, max_increase_ratio: 0.5}", []string{"max_increase", "max_increase_ratio", "max_increase_ratio"}},
		{"journald", "{name: a, type: journald, levels: [sever]}", []string{"levels[0]", "unit"}},
		{"metric api", "{name: a, type: metric}", []string{"max", "query"}},
		{"metric api min above max", "{name: a, type: metric, query: up, min: 2, max: 1}", []string{"min"}},
		{"metric limits", "{name: a, type: metric, query: up, max: 1, count: -1, interval: -1s, failure_limit: -1, inconclusive_limit: -1, consecutive_error_limit: -1, min_requests: -1, prometheus: 'localhost:9090'}",
			[]string{"consecutive_error_limit", "count", "failure_limit", "inconclusive_limit", "interval", "min_requests", "prometheus"}},
		{"metric timeout too short", "{name: a, type: metric, query: up, max: 1, count: 5, interval: 10s, timeout: 30s}", []string{"timeout"}},
		{"metric unknown mode", "{name: a, type: metric, mode: magic}", []string{"mode"}},
		{"metric relative", "{name: a, type: metric, mode: relative, query: up, max_increase_ratio: 0.5}", []string{"max_increase_ratio", "requests_query"}},
		{"metric relative no bound", "{name: a, type: metric, mode: relative, query: up, requests_query: up}", []string{"max_increase"}},
		{"metric scrape", "{name: a, type: metric, mode: scrape, url: 'x', counter: 'a-b', code_label: '1x', error_codes: '(', count: 3, interval: 10s, timeout: 30s}",
			[]string{"code_label", "counter", "error_codes", "max_error_ratio", "timeout", "url"}},
		{"metric scrape ratio", "{name: a, type: metric, mode: scrape, max_error_ratio: 2}", []string{"max_error_ratio"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Spec
			dec := yaml.NewDecoder(strings.NewReader(tt.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&s); err != nil {
				t.Fatal(err)
			}
			errs := s.Validate()
			var paths []string
			for _, e := range errs {
				paths = append(paths, e.Path)
			}
			sort.Strings(paths)
			if !slices.Equal(paths, tt.paths) {
				t.Errorf("problems at %v, want %v:\n%s", paths, tt.paths, joinErrs(errs))
			}
		})
	}
}

func joinErrs(errs []*field.Error) string {
	var b bytes.Buffer
	for _, e := range errs {
		b.WriteString("  " + e.Error() + "\n")
	}
	return b.String()
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Spec
		want Spec
	}{
		{"port timeout follows port_timeout", Spec{Name: "p", Type: KindPort, PortTimeout: 5 * time.Second},
			Spec{Name: "p", Type: KindPort, Stage: "depooled", From: FromDeploy, PortTimeout: 5 * time.Second, Timeout: 5 * time.Second}},
		{"http", Spec{Name: "h", Type: KindHTTP, URL: "http://x/"},
			Spec{Name: "h", Type: KindHTTP, Stage: "depooled", URL: "http://x/", Method: "GET", ExpectStatus: 200, Retries: ptr(3), Timeout: DefaultHTTPTimeout}},
		{"http retries 0 kept", Spec{Name: "h", Type: KindHTTP, URL: "http://x/", Retries: ptr(0)},
			Spec{Name: "h", Type: KindHTTP, Stage: "depooled", URL: "http://x/", Method: "GET", ExpectStatus: 200, Retries: ptr(0), Timeout: DefaultHTTPTimeout}},
		{"log json", Spec{Name: "l", Type: KindLog, Path: "/x", Format: FormatJSON},
			Spec{Name: "l", Type: KindLog, Stage: "depooled", Path: "/x", Format: FormatJSON, LevelField: "level", Levels: []string{"ERROR", "FATAL"}, MaxBytes: DefaultMaxBytes, Timeout: DefaultLogTimeout}},
		{"log explicit empty levels kept", Spec{Name: "l", Type: KindLog, Path: "/x", Levels: []string{}, Patterns: []string{"x"}},
			Spec{Name: "l", Type: KindLog, Stage: "depooled", Path: "/x", Format: FormatText, Levels: []string{}, Patterns: []string{"x"}, MaxBytes: DefaultMaxBytes, Timeout: DefaultLogTimeout}},
		{"metric api is pooled", Spec{Name: "m", Type: KindMetric, Query: "up", Max: f64(1)},
			Spec{Name: "m", Type: KindMetric, Stage: "pooled", Mode: ModeAPI, Prometheus: DefaultPrometheus, Query: "up", Max: f64(1),
				Interval: DefaultInterval, Count: DefaultCount, ConsecutiveErrorLimit: ptr(4), Timeout: DefaultMetricTimeout}},
		{"metric scrape", Spec{Name: "m", Type: KindMetric, Mode: ModeScrape, Stage: "canary"},
			Spec{Name: "m", Type: KindMetric, Stage: "canary", Mode: ModeScrape, URL: DefaultScrapeURL, Counter: DefaultCounter, CodeLabel: "code", ErrorCodes: "5..",
				MinRequests: DefaultMinRequests, Interval: DefaultInterval, Count: DefaultCount, ConsecutiveErrorLimit: ptr(4), Timeout: DefaultMetricTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithDefaults() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	specs := decodeSpecs(t, exampleYAML)
	tests := []struct {
		spec         int
		templates    []string
		placeholders []string
	}{
		{1, []string{"body_contains", "headers.X-Deploy", "host_header", "json_value", "url"}, []string{"address", "host", "port"}},
		{2, []string{"argv[0]", "argv[1]", "argv[2]"}, []string{"host"}},
		{3, []string{"path"}, []string{"host"}},
		{6, []string{"url"}, []string{"address", "port"}},
		{7, []string{"prometheus", "query", "requests_query"}, []string{"host"}},
	}
	for _, tt := range tests {
		t.Run(specs[tt.spec].Name, func(t *testing.T) {
			var got []string
			for k := range specs[tt.spec].Templates() {
				got = append(got, k)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.templates) {
				t.Errorf("Templates() keys = %v, want %v", got, tt.templates)
			}
			if got := specs[tt.spec].Placeholders(); !slices.Equal(got, tt.placeholders) {
				t.Errorf("Placeholders() = %v, want %v", got, tt.placeholders)
			}
		})
	}
}

// Describe is the target column of `deployctl plan` (and its JSON): these
// are the lines the plan golden files hold.
func TestDescribe(t *testing.T) {
	specs := decodeSpecs(t, exampleYAML)
	want := map[string]string{
		"port":          "port 0 from deploy",
		"healthz":       "GET http://{address}:{port}/healthz expect 200",
		"selftest":      "/srv/app/current/bin/selftest --host {host}",
		"errors-in-log": "/var/log/app/{host}.log (json, levels ERROR,FATAL, max 2)",
		"journal":       "journald unit app.service",
		"5xx":           "api http://127.0.0.1:9090: " + specs[5].Query,
		"5xx-scrape":    "scrape http://{address}:{port}/metrics: http_requests_total errors 5..",
		"5xx-vs-pool":   "relative http://127.0.0.1:9090: " + specs[7].Query,
	}
	for _, s := range specs {
		d := s.Describe()
		if d == "" || d == string(s.Type) {
			t.Errorf("%s: Describe() = %q", s.Name, d)
		}
		if d != want[s.Name] {
			t.Errorf("%s: Describe() = %q, want %q", s.Name, d, want[s.Name])
		}
	}
	more := []struct {
		spec Spec
		want string
	}{
		{Spec{Type: KindPort, Port: 8080, From: FromHost}, "port 8080 from host"},
		{Spec{Type: KindHTTP, URL: "https://x/", Method: "HEAD", ExpectStatus: 301}, "HEAD https://x/ expect 301"},
		{Spec{Type: KindLog, Path: "/x.log", Levels: []string{}, Patterns: []string{"panic"}}, "/x.log (text, levels , max 0)"},
		{Spec{Type: "ping"}, ""},
	}
	for _, tt := range more {
		if got := tt.spec.Describe(); got != tt.want {
			t.Errorf("%+v: Describe() = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestStage(t *testing.T) {
	for _, st := range []Stage{StageDepooled, StagePooled, StageCanary} {
		got, err := ParseStage(st.String())
		if err != nil || got != st {
			t.Errorf("ParseStage(%q) = %v, %v", st.String(), got, err)
		}
	}
	if _, err := ParseStage("soak"); err == nil {
		t.Error("ParseStage(soak) succeeded")
	}
	if s := Stage(9).String(); s != "stage(9)" {
		t.Errorf("Stage(9) = %q", s)
	}
}

// tmplProbe is a placeholder no host defines: a field that is expanded at
// run time fails with hosttmpl's error naming it.
const tmplProbe = "{tmpl_probe}"

// clockRunner answers every command with a host clock and an absent file,
// enough for the log and journald snapshots, so that their runs get as far
// as their own expansions.
type clockRunner struct{}

func (clockRunner) Run(context.Context, io.Reader, ...string) ([]byte, error) {
	return []byte("1700000000.000000000\nabsent\n"), nil
}

// expandedAtRun reports whether running s against a host expands field
// path as a template: it sets the field to tmplProbe alone and looks for
// the unknown-placeholder error. The context is cancelled, so whatever
// comes after the expansions (dialling, Prometheus, sleeps) ends at once.
func expandedAtRun(t *testing.T, s Spec) bool {
	t.Helper()
	c, err := compile(s)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tg := Target{Host: "web1", Address: "127.0.0.1", Port: 1, Runner: clockRunner{}, Peers: []string{"web2"}}
	e := env{t: tg, vars: tg.vars()}
	var errs []error
	if p, ok := c.probe.(preparer); ok {
		e.snap, err = p.prepare(ctx, e)
		errs = append(errs, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.probe.run(ctx, e)
		done <- err
	}()
	select {
	case err := <-done:
		errs = append(errs, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not end on a cancelled context")
	}
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), "unknown placeholder "+tmplProbe) {
			return true
		}
	}
	return false
}

// withProbe returns s with one string field set to tmplProbe, and the path
// Templates would give it: a string field by its YAML name, an element
// appended to a list as name[i], a header as headers.X-Tmpl-Probe.
func withProbe(s Spec, i int) (Spec, string, bool) {
	v := reflect.ValueOf(&s).Elem()
	f := v.Field(i)
	name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
	switch {
	case f.Kind() == reflect.String && f.Type() == reflect.TypeOf(""):
		f.SetString(tmplProbe)
		return s, name, true
	case f.Type() == reflect.TypeOf([]string(nil)):
		l := append(slices.Clone(f.Interface().([]string)), tmplProbe)
		f.Set(reflect.ValueOf(l))
		return s, fmt.Sprintf("%s[%d]", name, len(l)-1), true
	case f.Type() == reflect.TypeOf(map[string]string(nil)):
		m := map[string]string{"X-Tmpl-Probe": tmplProbe}
		for k, x := range f.Interface().(map[string]string) {
			m[k] = x
		}
		f.Set(reflect.ValueOf(m))
		return s, name + ".X-Tmpl-Probe", true
	}
	return s, "", false
}

// TestTemplatesAreWhatRunExpands holds Templates, the list the inventory
// validates for every host before anything runs, to the expansions the
// probes make at run time: for every kind and metric mode, and every
// string field of Spec, a field is in Templates exactly when running the
// check expands it. A field expanded but not listed would reach a host
// unvalidated; one listed but not expanded would reject configurations
// for placeholders nobody fills.
func TestTemplatesAreWhatRunExpands(t *testing.T) {
	bases := []struct {
		name string
		spec Spec
		want []string // the fields expanded at run time
	}{
		{"port", Spec{Type: KindPort, Port: 1}, nil},
		{"port from host", Spec{Type: KindPort, From: FromHost, Port: 1}, nil},
		{"http", Spec{Type: KindHTTP, URL: "http://127.0.0.1:1/", Headers: map[string]string{"X-A": "a"}},
			[]string{"body_contains", "headers.X-Tmpl-Probe", "host_header", "json_value", "url"}},
		{"command", Spec{Type: KindCommand, Argv: []string{"true"}}, []string{"argv[1]"}},
		{"log", Spec{Type: KindLog, Path: "/x.log"}, []string{"path"}},
		{"log json", Spec{Type: KindLog, Path: "/x.log", Format: FormatJSON}, []string{"path"}},
		{"journald", Spec{Type: KindJournald, Unit: "app.service"}, []string{"unit"}},
		{"metric api", Spec{Type: KindMetric, Prometheus: "http://127.0.0.1:1", Query: "up", RequestsQuery: "up", Max: f64(1)},
			[]string{"prometheus", "query", "requests_query"}},
		{"metric relative", Spec{Type: KindMetric, Mode: ModeRelative, Prometheus: "http://127.0.0.1:1", Query: "up", RequestsQuery: "up", MaxIncrease: f64(1)},
			[]string{"prometheus", "query", "requests_query"}},
		{"metric scrape", Spec{Type: KindMetric, Mode: ModeScrape, URL: "http://127.0.0.1:1/metrics", MaxErrorRatio: f64(0.1)}, []string{"url"}},
	}
	for _, b := range bases {
		t.Run(b.name, func(t *testing.T) {
			b.spec.Name = "c"
			b.spec.Timeout = time.Second
			b.spec.Interval = time.Millisecond
			b.spec.Count = 1
			if expandedAtRun(t, b.spec) {
				t.Fatal("the base spec itself fails to expand")
			}
			var expanded, listed []string
			for i := 0; i < reflect.TypeOf(b.spec).NumField(); i++ {
				s, path, ok := withProbe(b.spec, i)
				if !ok || path == "name" || strings.HasPrefix(path, "type") || path == "stage" {
					continue // not read per host, or not a check without them
				}
				run := expandedAtRun(t, s)
				_, validated := s.Templates()[path]
				if run {
					expanded = append(expanded, path)
				}
				if validated {
					listed = append(listed, path)
				}
				switch {
				case run && !validated:
					t.Errorf("%s is expanded at run time but not in Templates (never validated)", path)
				case validated && !run:
					t.Errorf("%s is in Templates (validated) but not expanded at run time", path)
				}
			}
			sort.Strings(expanded)
			sort.Strings(listed)
			// Pin the lists too, so a probe that stops expanding a field
			// (or the search above that stops finding one) is noticed.
			if !slices.Equal(expanded, b.want) || !slices.Equal(listed, b.want) {
				t.Errorf("expanded at run time %v, in Templates %v, want both %v", expanded, listed, b.want)
			}
		})
	}
}
