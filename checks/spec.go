package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// Kind is a check's type as written in the configuration.
type Kind string

// The kinds of check.
const (
	KindPort     Kind = "port"
	KindHTTP     Kind = "http"
	KindCommand  Kind = "command"
	KindLog      Kind = "log"
	KindJournald Kind = "journald"
	KindMetric   Kind = "metric"
)

// Kinds lists every kind, in documentation order.
var Kinds = []Kind{KindPort, KindHTTP, KindCommand, KindLog, KindJournald, KindMetric}

// Values of Spec's enumerated string fields.
const (
	FromDeploy = "deploy" // port: connect from the deploy host
	FromHost   = "host"   // port: look for a listening socket on the host itself

	FormatText = "text" // log: plain lines; a level is a word on an entry's first line
	FormatJSON = "json" // log: JSON lines judged by a level field (bunyan, pino, logrus...)

	ModeAPI      = "api"      // metric: one PromQL query against thresholds
	ModeScrape   = "scrape"   // metric: counter deltas from the host's own /metrics
	ModeRelative = "relative" // metric: the host against the rest of its pool
)

// Defaults. A zero value in a Spec means the default below; a named default
// never means "wait forever".
const (
	DefaultPortTimeout     = 60 * time.Second // port: how long to wait for the port
	DefaultHTTPTimeout     = 15 * time.Second
	DefaultCommandTimeout  = 30 * time.Second
	DefaultLogTimeout      = 30 * time.Second
	DefaultJournaldTimeout = 30 * time.Second
	DefaultMetricTimeout   = 2 * time.Minute

	DefaultFrom         = FromDeploy
	DefaultMethod       = "GET"
	DefaultExpectStatus = 200
	DefaultRetries      = 3
	DefaultFormat       = FormatText
	DefaultLevelField   = "level"
	DefaultMaxBytes     = 1 << 20 // log, journald: new bytes read per run
	DefaultMode         = ModeAPI
	DefaultPrometheus   = "http://127.0.0.1:9090"
	DefaultInterval     = 10 * time.Second
	DefaultCount        = 3
	// DefaultConsecutiveErrorLimit is Argo Rollouts' default: a flaky
	// Prometheus alone does not fail a deploy, a dead one does.
	DefaultConsecutiveErrorLimit = 4
	DefaultScrapeURL             = "http://{address}:{port}/metrics"
	DefaultCounter               = "http_requests_total"
	DefaultCodeLabel             = "code"
	DefaultErrorCodes            = "5.."
	DefaultMinRequests           = 20

	// MaxRetries, MaxMaxBytes and MaxCount bound what a configuration may ask for.
	MaxRetries  = 20
	MaxMaxBytes = 8 << 20 // well within sshx's default max_output (16 MiB)
	MaxCount    = 1000
)

// DefaultLevels are the log levels counted when a log or journald check
// names none.
var DefaultLevels = []string{"ERROR", "FATAL"}

// Spec is the configuration of one check: one element of the configuration's
// checks list. Fields that do not apply to the check's type must be left out.
type Spec struct {
	// Name identifies the check in output and history. Required; unique
	// within a configuration.
	Name string `yaml:"name"`
	// Type is port, http, command, log, journald or metric.
	Type Kind `yaml:"type"`
	// Stage is when the check runs: depooled (after the start, before
	// repool), pooled (a soak after repool), or canary (once after the
	// canary group and canary_wait). Default depooled; pooled for metric.
	Stage string `yaml:"stage,omitempty"`
	// Timeout bounds the whole check, retries and measurements included.
	// Default per type: port port_timeout, http 15s, command 30s, log 30s,
	// journald 30s, metric 2m.
	Timeout time.Duration `yaml:"timeout,omitempty"`

	// From (port) is where the port is tried: deploy (a TCP connect from
	// the deploy host, the default) or host (a listening socket in the
	// host's /proc/net/tcp and tcp6, for services bound to loopback).
	From string `yaml:"from,omitempty"`
	// Port (port) is the port to wait for. Default: the service port.
	Port int `yaml:"port,omitempty"`
	// PortTimeout (port) is how long to wait for the port. Default 60s.
	PortTimeout time.Duration `yaml:"port_timeout,omitempty"`

	// URL (http: required; metric scrape: default
	// http://{address}:{port}/metrics) is the address to ask. Template.
	URL string `yaml:"url,omitempty"`
	// Method (http) is the request method. Default GET.
	Method string `yaml:"method,omitempty"`
	// Headers (http) are request headers; values are templates.
	Headers map[string]string `yaml:"headers,omitempty"`
	// HostHeader (http) is the Host header, for name-based virtual hosts
	// reached by address. Template.
	HostHeader string `yaml:"host_header,omitempty"`
	// ExpectStatus (http) is the status the answer must have. Default 200.
	// Redirects are not followed, so a 301 can be expected.
	ExpectStatus int `yaml:"expect_status,omitempty"`
	// BodyContains (http) is a substring the body must contain. Template.
	BodyContains string `yaml:"body_contains,omitempty"`
	// BodyRegex (http) is a regular expression (RE2) the body must match.
	BodyRegex string `yaml:"body_regex,omitempty"`
	// JSONField (http) is a dotted path into a JSON body ("status.db",
	// "items.0.name") that must exist.
	JSONField string `yaml:"json_field,omitempty"`
	// JSONValue (http) is the value json_field must have, compared as text
	// (strings unquoted, numbers and booleans as written). Template.
	JSONValue string `yaml:"json_value,omitempty"`
	// MaxLatency (http) is the longest an answer may take, body included.
	MaxLatency time.Duration `yaml:"max_latency,omitempty"`
	// Retries (http) is how many times a failed attempt is repeated within
	// the timeout. Each attempt gets timeout/(retries+1). Default 3.
	Retries *int `yaml:"retries,omitempty"`

	// Argv (command: required) is run on the host; exit status 0 passes,
	// and the output is kept as evidence. Each element is a template.
	Argv []string `yaml:"argv,omitempty"`

	// Path (log: required) is the absolute path of the log file on the
	// host. Template.
	Path string `yaml:"path,omitempty"`
	// Format (log) is text or json (one JSON object per line). Default text.
	Format string `yaml:"format,omitempty"`
	// Levels (log, journald) are the levels that count. Default ERROR and
	// FATAL; an explicit empty list counts levels not at all (patterns
	// only). In text logs a level is an upper-case word, or level=name, on
	// an entry's first line; in JSON logs it is level_field, either a name
	// or bunyan's number (ERROR 50, FATAL 60: at or above the lowest level
	// listed); in journald it is the syslog priority.
	Levels []string `yaml:"levels,omitempty"`
	// Patterns (log, journald) are regular expressions; an entry matching
	// any of them counts too.
	Patterns []string `yaml:"patterns,omitempty"`
	// EntryStart (log) is a regular expression matching the first line of
	// each entry; other lines continue the entry before them. Default: a
	// line continues the entry when it is blank or indented, or belongs to a
	// Python traceback or a Java "Caused by:" chain, so a traceback counts
	// once.
	EntryStart string `yaml:"entry_start,omitempty"`
	// LevelField (log, json) is the dotted path of the level in each
	// record. Default level.
	LevelField string `yaml:"level_field,omitempty"`
	// MaxMatches (log, journald) is how many matching entries are allowed
	// since the stop. Default 0.
	MaxMatches int `yaml:"max_matches,omitempty"`
	// MaxBytes (log, journald) caps the new bytes read per run; what lies
	// beyond is not judged, and the evidence says so. Default 1 MiB.
	MaxBytes int64 `yaml:"max_bytes,omitempty"`
	// Relative (log) compares the share of matching entries since the stop
	// with the share in the last max_bytes before it, so errors the last
	// good release also logged do not fail the new one. Needs max_increase
	// or max_increase_ratio.
	Relative bool `yaml:"relative,omitempty"`

	// Unit (journald: required) is the systemd unit whose journal entries
	// since the stop are read. Template.
	Unit string `yaml:"unit,omitempty"`

	// Mode (metric) is api (a PromQL query against min/max), scrape (the
	// host's own /metrics: error share of a counter over each interval) or
	// relative (the host against the rest of its pool). Default api.
	Mode string `yaml:"mode,omitempty"`
	// Prometheus (metric api, relative) is the Prometheus base URL.
	// Default http://127.0.0.1:9090. Template.
	Prometheus string `yaml:"prometheus,omitempty"`
	// Query (metric api, relative: required) is a PromQL expression that
	// must give a scalar or a one-sample vector; empty or NaN is no data.
	// In relative mode {host} is the host's name as a regex, then the
	// alternation of its peers, so select with host=~"{host}", and higher
	// must be worse. Template.
	Query string `yaml:"query,omitempty"`
	// RequestsQuery (metric api: optional; relative: required) gives the
	// number of requests behind query's value, filled like query; below
	// min_requests the measurement is inconclusive. Template.
	RequestsQuery string `yaml:"requests_query,omitempty"`
	// MinRequests (metric) is the fewest requests that make a measurement
	// count, so idle hosts do not decide. Default 20.
	MinRequests float64 `yaml:"min_requests,omitempty"`
	// Min and Max (metric api: at least one) bound the query's value.
	Min *float64 `yaml:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty"`
	// Interval (metric) is the time between measurements; in scrape mode,
	// the window of each measurement. Default 10s.
	Interval time.Duration `yaml:"interval,omitempty"`
	// Count (metric) is the number of measurements. Default 3.
	Count int `yaml:"count,omitempty"`
	// FailureLimit (metric) is how many failed measurements are tolerated.
	// Default 0.
	FailureLimit int `yaml:"failure_limit,omitempty"`
	// InconclusiveLimit (metric) is how many inconclusive measurements (no
	// data, too few requests) are tolerated. Default 0.
	InconclusiveLimit int `yaml:"inconclusive_limit,omitempty"`
	// ConsecutiveErrorLimit (metric) is how many measurements in a row may
	// fail to get data (Prometheus or the host unreachable, a bad query).
	// Default 4.
	ConsecutiveErrorLimit *int `yaml:"consecutive_error_limit,omitempty"`
	// Counter (metric scrape) is the request counter's name. Default
	// http_requests_total.
	Counter string `yaml:"counter,omitempty"`
	// CodeLabel (metric scrape) is the counter's status code label.
	// Default code.
	CodeLabel string `yaml:"code_label,omitempty"`
	// ErrorCodes (metric scrape) is a regular expression for the codes that
	// count as errors, matched whole. Default 5..
	ErrorCodes string `yaml:"error_codes,omitempty"`
	// MaxErrorRatio (metric scrape: required) is the largest share of error
	// codes among the requests of one interval, from 0 to 1.
	MaxErrorRatio *float64 `yaml:"max_error_ratio,omitempty"`
	// MaxIncrease (metric relative, log relative) is how much worse than
	// its peers (or than before the stop) the host may be, as a difference
	// of the values (0.02: two points of error share).
	MaxIncrease *float64 `yaml:"max_increase,omitempty"`
	// MaxIncreaseRatio (metric relative, log relative) is the same as a
	// ratio (2: twice the peers' value). With both set, the host fails
	// only when it is worse by both: the difference keeps tiny shares from
	// failing on noise, the ratio keeps large ones honest.
	MaxIncreaseRatio *float64 `yaml:"max_increase_ratio,omitempty"`
}

// StageOf returns the stage the check runs in, with the type's default
// when none is set. An unknown name (which Validate reports) gives the
// default too.
func (s Spec) StageOf() Stage {
	if st, err := ParseStage(s.Stage); err == nil {
		return st
	}
	if s.Type == KindMetric {
		return StagePooled
	}
	return StageDepooled
}

// WithDefaults returns s with every unset field that has a default filled in,
// for the fields that apply to its type.
func (s Spec) WithDefaults() Spec {
	d := s
	d.Stage = s.StageOf().String()
	switch s.Type {
	case KindPort:
		d.From = or(d.From, DefaultFrom)
		if d.PortTimeout == 0 {
			d.PortTimeout = DefaultPortTimeout
		}
		if d.Timeout == 0 {
			d.Timeout = d.PortTimeout
		}
	case KindHTTP:
		d.Timeout = orDur(d.Timeout, DefaultHTTPTimeout)
		d.Method = or(d.Method, DefaultMethod)
		if d.ExpectStatus == 0 {
			d.ExpectStatus = DefaultExpectStatus
		}
		if d.Retries == nil {
			d.Retries = ptr(DefaultRetries)
		}
	case KindCommand:
		d.Timeout = orDur(d.Timeout, DefaultCommandTimeout)
	case KindLog:
		d.Timeout = orDur(d.Timeout, DefaultLogTimeout)
		d.Format = or(d.Format, DefaultFormat)
		if d.Format == FormatJSON {
			d.LevelField = or(d.LevelField, DefaultLevelField)
		}
		d.Levels, d.MaxBytes = levelsAndBytes(d.Levels, d.MaxBytes)
	case KindJournald:
		d.Timeout = orDur(d.Timeout, DefaultJournaldTimeout)
		d.Levels, d.MaxBytes = levelsAndBytes(d.Levels, d.MaxBytes)
	case KindMetric:
		d.Timeout = orDur(d.Timeout, DefaultMetricTimeout)
		d.Mode = or(d.Mode, DefaultMode)
		d.Interval = orDur(d.Interval, DefaultInterval)
		if d.Count == 0 {
			d.Count = DefaultCount
		}
		if d.ConsecutiveErrorLimit == nil {
			d.ConsecutiveErrorLimit = ptr(DefaultConsecutiveErrorLimit)
		}
		if d.Mode == ModeScrape {
			d.URL = or(d.URL, DefaultScrapeURL)
			d.Counter = or(d.Counter, DefaultCounter)
			d.CodeLabel = or(d.CodeLabel, DefaultCodeLabel)
			d.ErrorCodes = or(d.ErrorCodes, DefaultErrorCodes)
		} else {
			d.Prometheus = or(d.Prometheus, DefaultPrometheus)
		}
		if d.Mode == ModeScrape || d.RequestsQuery != "" {
			if d.MinRequests == 0 {
				d.MinRequests = DefaultMinRequests
			}
		}
	}
	return d
}

func levelsAndBytes(levels []string, maxBytes int64) ([]string, int64) {
	if levels == nil {
		levels = append([]string(nil), DefaultLevels...)
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	return levels, maxBytes
}

// Templates returns the check's template fields by their path relative to
// the check ("url", "headers.X-Req", "argv[1]"), so that a loader can try
// every host's placeholders before anything runs. Defaults are included.
// It is the one list of template fields: TestTemplatesAreWhatRunExpands
// holds it to what the probes expand at run time.
func (s Spec) Templates() map[string]string {
	d := s.WithDefaults()
	out := map[string]string{}
	add := func(path, v string) {
		if v != "" {
			out[path] = v
		}
	}
	switch d.Type {
	case KindHTTP:
		add("url", d.URL)
		add("host_header", d.HostHeader)
		add("body_contains", d.BodyContains)
		add("json_value", d.JSONValue)
		for k, v := range d.Headers {
			add("headers."+k, v)
		}
	case KindCommand:
		for i, a := range d.Argv {
			add(fmt.Sprintf("argv[%d]", i), a)
		}
	case KindLog:
		add("path", d.Path)
	case KindJournald:
		add("unit", d.Unit)
	case KindMetric:
		if d.Mode == ModeScrape {
			add("url", d.URL)
		} else {
			add("prometheus", d.Prometheus)
			add("query", d.Query)
			add("requests_query", d.RequestsQuery)
		}
	}
	return out
}

// Placeholders lists the placeholder names the check's templates use, sorted
// and without repeats.
func (s Spec) Placeholders() []string {
	seen := map[string]bool{}
	var names []string
	for _, t := range s.Templates() {
		for _, n := range hosttmpl.Placeholders(t) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// Describe says in one line what the check looks at, with its defaults and
// templates unfilled: the target column of `deployctl plan` and its JSON.
func (s Spec) Describe() string {
	d := s.WithDefaults()
	switch d.Type {
	case KindPort:
		return fmt.Sprintf("port %d from %s", d.Port, d.From)
	case KindHTTP:
		return fmt.Sprintf("%s %s expect %d", d.Method, d.URL, d.ExpectStatus)
	case KindCommand:
		return strings.Join(d.Argv, " ")
	case KindLog:
		return fmt.Sprintf("%s (%s, levels %s, max %d)", d.Path, d.Format, strings.Join(d.Levels, ","), d.MaxMatches)
	case KindJournald:
		return "journald unit " + d.Unit
	case KindMetric:
		if d.Mode == ModeScrape {
			return fmt.Sprintf("scrape %s: %s errors %s", d.URL, d.Counter, d.ErrorCodes)
		}
		return fmt.Sprintf("%s %s: %s", d.Mode, d.Prometheus, d.Query)
	}
	return ""
}

func matchWhat(d Spec) string {
	var parts []string
	if len(d.Levels) > 0 {
		parts = append(parts, strings.Join(d.Levels, "/"))
	}
	for _, p := range d.Patterns {
		parts = append(parts, "/"+p+"/")
	}
	return strings.Join(parts, " or ")
}

// increaseWhat renders the relative bounds: "+0.02 and ×2".
func increaseWhat(d Spec) string {
	var parts []string
	if d.MaxIncrease != nil {
		parts = append(parts, "+"+fmtPtr(d.MaxIncrease))
	}
	if d.MaxIncreaseRatio != nil {
		parts = append(parts, "×"+fmtPtr(d.MaxIncreaseRatio))
	}
	return strings.Join(parts, " and ")
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmtNum(*f)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func ptr[T any](v T) *T { return &v }
