package deploymetrics_test

import (
	"bytes"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
)

// parseText parses the text exposition format the way Prometheus does.
func parseText(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return fams
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func labelNames(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName())
	}
	sort.Strings(out)
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

var wantTypes = map[string]dto.MetricType{
	"deployctl_rollouts_total":                 dto.MetricType_COUNTER,
	"deployctl_rollbacks_total":                dto.MetricType_COUNTER,
	"deployctl_hosts_changed_total":            dto.MetricType_COUNTER,
	"deployctl_last_hosts_changed":             dto.MetricType_GAUGE,
	"deployctl_last_duration_seconds":          dto.MetricType_GAUGE,
	"deployctl_last_success_timestamp_seconds": dto.MetricType_GAUGE,
	"deployctl_rollout_in_progress":            dto.MetricType_GAUGE,
	"deployctl_deployed_info":                  dto.MetricType_GAUGE,
}

func TestRenderParsesBack(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 250_000_000, time.UTC)
	var c deploymetrics.Counters
	c.Start()
	c.Finish("done", 42500*time.Millisecond, 3, false, "0123abcd", "cfg-1", at)
	c.Start()
	c.Finish("rolled-back", 17*time.Second, 2, true, "0123abcd", "cfg-1", at.Add(time.Hour))
	c.Start()

	fams := parseText(t, deploymetrics.Render("web", "production", c))

	var names []string
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	var want []string
	for n := range wantTypes {
		want = append(want, n)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("families %v, want exactly %v", names, want)
	}

	for name, f := range fams {
		if f.GetType() != wantTypes[name] {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), wantTypes[name])
		}
		if f.GetHelp() == "" || f.GetHelp() != deploymetrics.Help(name) {
			t.Errorf("%s: help %q, want %q", name, f.GetHelp(), deploymetrics.Help(name))
		}
		wantLabels := []string{"app", "env"}
		switch name {
		case "deployctl_rollouts_total":
			wantLabels = []string{"app", "env", "outcome"}
		case "deployctl_deployed_info":
			wantLabels = []string{"app", "config_version", "env", "rev"}
		}
		for _, m := range f.GetMetric() {
			if got := labelNames(m); !reflect.DeepEqual(got, wantLabels) {
				t.Errorf("%s: labels %v, want exactly %v", name, got, wantLabels)
			}
			if l := labelMap(m); l["app"] != "web" || l["env"] != "production" {
				t.Errorf("%s: app/env %v", name, l)
			}
			if m.TimestampMs != nil {
				t.Errorf("%s: has a sample timestamp", name)
			}
		}
		if name != "deployctl_rollouts_total" && len(f.GetMetric()) != 1 {
			t.Errorf("%s: %d series, want 1", name, len(f.GetMetric()))
		}
	}

	// One series per outcome, all present.
	byOutcome := map[string]float64{}
	for _, m := range fams["deployctl_rollouts_total"].GetMetric() {
		byOutcome[labelMap(m)["outcome"]] = value(m)
	}
	wantOutcomes := map[string]float64{"done": 1, "rolled-back": 1, "rollback-failed": 0, "interrupted": 0, "failed": 0}
	if !reflect.DeepEqual(byOutcome, wantOutcomes) {
		t.Errorf("rollouts by outcome %v, want %v", byOutcome, wantOutcomes)
	}

	one := func(name string) float64 { return value(fams[name].GetMetric()[0]) }
	for name, want := range map[string]float64{
		"deployctl_rollbacks_total":                1,
		"deployctl_hosts_changed_total":            5,
		"deployctl_last_hosts_changed":             2,
		"deployctl_last_duration_seconds":          17,
		"deployctl_last_success_timestamp_seconds": float64(at.UnixMilli()) / 1000,
		"deployctl_rollout_in_progress":            1,
		"deployctl_deployed_info":                  1,
	} {
		if got := one(name); math.Abs(got-want) > 1e-3 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	info := labelMap(fams["deployctl_deployed_info"].GetMetric()[0])
	if info["rev"] != "0123abcd" || info["config_version"] != "cfg-1" {
		t.Errorf("info labels %v", info)
	}
}

func TestRenderZero(t *testing.T) {
	fams := parseText(t, deploymetrics.Render("web", "staging", deploymetrics.Counters{}))
	// Before anything finished: the counters (all zero) and in_progress,
	// no duration, success time or info that would be made up.
	for _, name := range []string{"deployctl_last_duration_seconds", "deployctl_last_success_timestamp_seconds", "deployctl_deployed_info"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s rendered before it has a value", name)
		}
	}
	for _, name := range []string{"deployctl_rollouts_total", "deployctl_rollbacks_total", "deployctl_hosts_changed_total", "deployctl_last_hosts_changed", "deployctl_rollout_in_progress"} {
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		for _, m := range f.GetMetric() {
			if value(m) != 0 {
				t.Errorf("%s = %v, want 0", name, value(m))
			}
		}
	}
	if n := len(fams["deployctl_rollouts_total"].GetMetric()); n != 5 {
		t.Errorf("rollouts_total has %d series, want one per outcome (5)", n)
	}
}

func TestRenderNoRevLabelOutsideInfo(t *testing.T) {
	var c deploymetrics.Counters
	c.Finish("done", time.Second, 1, false, "deadbeef", "cv", time.Now())
	body := deploymetrics.Render("web", "prod", c)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		isInfo := strings.HasPrefix(line, "deployctl_deployed_info{")
		for _, bad := range []string{"rev=", "config_version=", "deadbeef"} {
			if strings.Contains(line, bad) != (isInfo) {
				t.Errorf("%q in line %q (only the _info gauge carries revisions)", bad, line)
			}
		}
	}
}

func TestRenderEscapesLabelValues(t *testing.T) {
	app := `we"b\x`
	env := "prod\nüber"
	rev := "bad\xffutf8"
	var c deploymetrics.Counters
	c.Finish("done", time.Second, 1, false, rev, `{"k": "v"}`, time.Now())
	fams := parseText(t, deploymetrics.Render(app, env, c))
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			l := labelMap(m)
			if l["app"] != app || l["env"] != env {
				t.Errorf("%s: app %q env %q", name, l["app"], l["env"])
			}
		}
	}
	info := labelMap(fams["deployctl_deployed_info"].GetMetric()[0])
	if info["rev"] != "bad\uFFFDutf8" || info["config_version"] != `{"k": "v"}` {
		t.Errorf("info labels %q", info)
	}
}

// TestDocListsMetrics keeps the package documentation's list the same as
// what Render writes: every family with its HELP and TYPE lines.
func TestDocListsMetrics(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range wantTypes {
		for _, line := range []string{
			"//\t# HELP " + name + " " + deploymetrics.Help(name) + "\n",
			"//\t# TYPE " + name + " " + strings.ToLower(typ.String()) + "\n",
		} {
			if !bytes.Contains(doc, []byte(line)) {
				t.Errorf("doc.go lacks %q", line)
			}
		}
	}
}
