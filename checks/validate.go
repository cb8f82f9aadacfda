package checks

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
)

// fieldsFor lists the fields (by YAML name) each type, or metric mode,
// accepts besides name, type, stage and timeout.
var fieldsFor = map[string][]string{
	string(KindPort):         {"from", "port", "port_timeout"},
	string(KindHTTP):         {"url", "method", "headers", "host_header", "expect_status", "body_contains", "body_regex", "json_field", "json_value", "max_latency", "retries"},
	string(KindCommand):      {"argv"},
	string(KindLog):          {"path", "format", "levels", "patterns", "entry_start", "level_field", "max_matches", "max_bytes", "relative", "max_increase", "max_increase_ratio"},
	string(KindJournald):     {"unit", "levels", "patterns", "max_matches", "max_bytes"},
	"metric":                 {"mode", "interval", "count", "failure_limit", "inconclusive_limit", "consecutive_error_limit", "min_requests"},
	"metric " + ModeAPI:      {"prometheus", "query", "requests_query", "min", "max"},
	"metric " + ModeRelative: {"prometheus", "query", "requests_query", "max_increase", "max_increase_ratio"},
	"metric " + ModeScrape:   {"url", "counter", "code_label", "error_codes", "max_error_ratio"},
}

var (
	levelNameRe  = regexp.MustCompile(`^[A-Za-z]+$`)
	methodRe     = regexp.MustCompile(`^[A-Z]+$`)
	headerNameRe = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	metricNameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRe  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Validate reports every problem of the check at once, with paths relative
// to the check ("url", "max").
func (s Spec) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }

	if strings.TrimSpace(s.Name) == "" {
		add("name", "required: a name for the check")
	}
	known := false
	for _, k := range Kinds {
		known = known || s.Type == k
	}
	switch {
	case s.Type == "":
		add("type", "required: one of port, http, command, log, journald, metric")
		return errs
	case !known:
		add("type", "unknown type %q (want port, http, command, log, journald or metric)", s.Type)
		return errs
	}
	if s.Stage != "" {
		if _, err := ParseStage(s.Stage); err != nil {
			add("stage", "%v", err)
		}
	}
	if s.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	errs = append(errs, s.unusedFields()...)

	d := s.WithDefaults()
	switch s.Type {
	case KindPort:
		errs = append(errs, validatePort(d, s)...)
	case KindHTTP:
		errs = append(errs, validateHTTP(d)...)
	case KindCommand:
		if len(d.Argv) == 0 || d.Argv[0] == "" {
			add("argv", "required: the command to run on the host, as a list")
		}
	case KindLog:
		errs = append(errs, validateLog(d)...)
	case KindJournald:
		errs = append(errs, validateJournald(d)...)
	case KindMetric:
		errs = append(errs, validateMetric(d)...)
	}
	return errs
}

// unusedFields reports every field set that the check's type (or metric
// mode) does not read, so a misplaced option never silently does nothing.
func (s Spec) unusedFields() []*field.Error {
	allowed := map[string]bool{"name": true, "type": true, "stage": true, "timeout": true}
	what := "type " + string(s.Type)
	for _, n := range fieldsFor[string(s.Type)] {
		allowed[n] = true
	}
	if s.Type == KindMetric {
		mode := or(s.Mode, DefaultMode)
		what = "metric mode " + mode
		for _, n := range fieldsFor["metric "+mode] {
			allowed[n] = true
		}
	}
	var errs []*field.Error
	v := reflect.ValueOf(s)
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if !allowed[name] && !v.Field(i).IsZero() {
			errs = append(errs, field.Errorf(name, "does not apply to %s", what))
		}
	}
	return errs
}

func validatePort(d, raw Spec) []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	if d.From != FromDeploy && d.From != FromHost {
		add("from", "unknown value %q (want deploy or host)", d.From)
	}
	if d.Port < 0 || d.Port > 65535 {
		add("port", "%d is not a TCP port", d.Port)
	}
	if d.PortTimeout < 0 {
		add("port_timeout", "must not be negative")
	}
	if raw.Timeout > 0 && raw.Timeout < d.PortTimeout {
		add("timeout", "%s is shorter than port_timeout %s", raw.Timeout, d.PortTimeout)
	}
	return errs
}

func validateHTTP(d Spec) []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	switch {
	case d.URL == "":
		add("url", "required: the URL to ask, e.g. http://{address}:{port}/healthz")
	case !isHTTPURL(d.URL):
		add("url", "%q: want an http:// or https:// URL", d.URL)
	}
	if !methodRe.MatchString(d.Method) {
		add("method", "%q is not an HTTP method", d.Method)
	}
	for k := range d.Headers {
		switch {
		case !headerNameRe.MatchString(k):
			add("headers."+k, "%q is not a header name", k)
		case strings.EqualFold(k, "host"):
			add("headers."+k, "use host_header to set the Host header")
		}
	}
	if d.ExpectStatus < 100 || d.ExpectStatus > 599 {
		add("expect_status", "%d is not an HTTP status", d.ExpectStatus)
	}
	addRegex(&errs, "body_regex", d.BodyRegex)
	if d.JSONValue != "" && d.JSONField == "" {
		add("json_value", "needs json_field")
	}
	if d.JSONField != "" && (strings.HasPrefix(d.JSONField, ".") || strings.HasSuffix(d.JSONField, ".") || strings.Contains(d.JSONField, "..")) {
		add("json_field", "%q: want a dotted path such as status.db", d.JSONField)
	}
	if d.MaxLatency < 0 {
		add("max_latency", "must not be negative")
	}
	if r := *d.Retries; r < 0 || r > MaxRetries {
		add("retries", "%d: want 0 to %d", r, MaxRetries)
	}
	return errs
}

func validateLog(d Spec) []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	switch {
	case d.Path == "":
		add("path", "required: the log file on the host")
	case !strings.HasPrefix(d.Path, "/") && !strings.HasPrefix(d.Path, "{"):
		add("path", "%q must be an absolute path", d.Path)
	}
	if d.Format != FormatText && d.Format != FormatJSON {
		add("format", "unknown format %q (want text or json)", d.Format)
	}
	if d.LevelField != "" && d.Format != FormatJSON {
		add("level_field", "applies only to format json")
	}
	errs = append(errs, validateMatching(d)...)
	if d.Relative && d.MaxIncrease == nil && d.MaxIncreaseRatio == nil {
		add("relative", "needs max_increase or max_increase_ratio")
	}
	if !d.Relative {
		if d.MaxIncrease != nil {
			add("max_increase", "applies only with relative: true")
		}
		if d.MaxIncreaseRatio != nil {
			add("max_increase_ratio", "applies only with relative: true")
		}
	}
	errs = append(errs, validateIncrease(d)...)
	return errs
}

func validateJournald(d Spec) []*field.Error {
	var errs []*field.Error
	if d.Unit == "" {
		errs = append(errs, field.Errorf("unit", "required: the systemd unit, e.g. {app}.service"))
	}
	for i, l := range d.Levels {
		if _, ok := syslogPriority(l); !ok {
			errs = append(errs, field.Errorf(fmt.Sprintf("levels[%d]", i), "%q is not a syslog level (emerg, alert, crit, err, warning, notice, info, debug, or fatal/error/warn)", l))
		}
	}
	return append(errs, validateMatching(d)...)
}

// validateMatching checks what log and journald checks share.
func validateMatching(d Spec) []*field.Error {
	var errs []*field.Error
	for i, l := range d.Levels {
		if !levelNameRe.MatchString(l) {
			errs = append(errs, field.Errorf(fmt.Sprintf("levels[%d]", i), "%q: a level is a word, e.g. ERROR", l))
		}
	}
	for i, p := range d.Patterns {
		addRegex(&errs, fmt.Sprintf("patterns[%d]", i), p)
	}
	addRegex(&errs, "entry_start", d.EntryStart)
	if len(d.Levels) == 0 && len(d.Patterns) == 0 {
		errs = append(errs, field.Errorf("levels", "nothing to count: give levels or patterns"))
	}
	if d.MaxMatches < 0 {
		errs = append(errs, field.Errorf("max_matches", "must not be negative"))
	}
	if d.MaxBytes < 0 || d.MaxBytes > MaxMaxBytes {
		errs = append(errs, field.Errorf("max_bytes", "%d: want 1 to %d", d.MaxBytes, MaxMaxBytes))
	}
	return errs
}

func validateMetric(d Spec) []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	switch d.Mode {
	case ModeAPI, ModeRelative, ModeScrape:
	default:
		add("mode", "unknown mode %q (want api, scrape or relative)", d.Mode)
		return errs
	}
	if d.Interval < 0 {
		add("interval", "must not be negative")
	}
	if d.Count < 0 || d.Count > MaxCount {
		add("count", "%d: want 1 to %d", d.Count, MaxCount)
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"failure_limit", d.FailureLimit}, {"inconclusive_limit", d.InconclusiveLimit}, {"consecutive_error_limit", *d.ConsecutiveErrorLimit}} {
		if l.v < 0 {
			add(l.name, "must not be negative")
		}
	}
	if d.MinRequests < 0 {
		add("min_requests", "must not be negative")
	}
	// The measurements must fit in the timeout, or the check could never pass.
	need := time.Duration(max(d.Count-1, 0)) * d.Interval
	if d.Mode == ModeScrape {
		need = time.Duration(d.Count) * d.Interval
	}
	if d.Timeout > 0 && need >= d.Timeout {
		add("timeout", "%s cannot hold %d measurements %s apart (%s); raise timeout or lower count", d.Timeout, d.Count, d.Interval, need)
	}

	if d.Mode != ModeScrape {
		if !isHTTPURL(d.Prometheus) {
			add("prometheus", "%q: want an http:// or https:// URL", d.Prometheus)
		}
		if strings.TrimSpace(d.Query) == "" {
			add("query", "required: a PromQL expression giving one value")
		}
	}
	switch d.Mode {
	case ModeAPI:
		switch {
		case d.Min == nil && d.Max == nil:
			add("max", "give min, max or both")
		case d.Min != nil && d.Max != nil && *d.Min > *d.Max:
			add("min", "%s is above max %s", fmtNum(*d.Min), fmtNum(*d.Max))
		}
	case ModeRelative:
		if strings.TrimSpace(d.RequestsQuery) == "" {
			add("requests_query", "required in relative mode: the requests behind the value, so idle hosts do not decide")
		}
		if d.MaxIncrease == nil && d.MaxIncreaseRatio == nil {
			add("max_increase", "relative mode needs max_increase or max_increase_ratio")
		}
		errs = append(errs, validateIncrease(d)...)
	case ModeScrape:
		switch {
		case !isHTTPURL(d.URL):
			add("url", "%q: want an http:// or https:// URL", d.URL)
		}
		if !metricNameRe.MatchString(d.Counter) {
			add("counter", "%q is not a metric name", d.Counter)
		}
		if !labelNameRe.MatchString(d.CodeLabel) {
			add("code_label", "%q is not a label name", d.CodeLabel)
		}
		addRegex(&errs, "error_codes", d.ErrorCodes)
		switch {
		case d.MaxErrorRatio == nil:
			add("max_error_ratio", "required in scrape mode: the largest error share, e.g. 0.01")
		case *d.MaxErrorRatio < 0 || *d.MaxErrorRatio > 1:
			add("max_error_ratio", "%s: want 0 to 1", fmtNum(*d.MaxErrorRatio))
		}
	}
	return errs
}

func validateIncrease(d Spec) []*field.Error {
	var errs []*field.Error
	if d.MaxIncrease != nil && *d.MaxIncrease < 0 {
		errs = append(errs, field.Errorf("max_increase", "must not be negative"))
	}
	if d.MaxIncreaseRatio != nil && *d.MaxIncreaseRatio < 1 {
		errs = append(errs, field.Errorf("max_increase_ratio", "%s: a ratio below 1 would fail a host no worse than the rest", fmtNum(*d.MaxIncreaseRatio)))
	}
	return errs
}

func addRegex(errs *[]*field.Error, path, re string) {
	if re == "" {
		return
	}
	if _, err := regexp.Compile(re); err != nil {
		*errs = append(*errs, field.Errorf(path, "bad regular expression: %v", err))
	}
}

// isHTTPURL accepts http(s) URLs, or a template whose first placeholder
// will supply the scheme.
func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || (strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "{{"))
}
