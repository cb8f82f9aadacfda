package checks

import (
	"bytes"
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

func TestDescribe(t *testing.T) {
	for _, s := range decodeSpecs(t, exampleYAML) {
		d := s.Describe()
		if d == "" || d == string(s.Type) {
			t.Errorf("%s: Describe() = %q", s.Name, d)
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
