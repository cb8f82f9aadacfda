package deploymetrics

import (
	"bytes"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Metric names, as in the package documentation.
const (
	MetricRollouts     = "deployctl_rollouts_total"
	MetricRollbacks    = "deployctl_rollbacks_total"
	MetricHostsChanged = "deployctl_hosts_changed_total"
	MetricLastHosts    = "deployctl_last_hosts_changed"
	MetricLastDuration = "deployctl_last_duration_seconds"
	MetricLastSuccess  = "deployctl_last_success_timestamp_seconds"
	MetricInProgress   = "deployctl_rollout_in_progress"
	MetricDeployedInfo = "deployctl_deployed_info"
)

// Label names.
const (
	LabelApp           = "app"
	LabelEnv           = "env"
	LabelOutcome       = "outcome"        // deployctl_rollouts_total only
	LabelRev           = "rev"            // deployctl_deployed_info only
	LabelConfigVersion = "config_version" // deployctl_deployed_info only
)

// help holds the HELP text of each family; the package documentation
// repeats them (a test keeps the two the same).
var help = map[string]string{
	MetricRollouts:     "Rollouts finished, by outcome (done, rolled-back, rollback-failed, interrupted, failed).",
	MetricRollbacks:    "Rollouts that returned changed hosts to the last good revision.",
	MetricHostsChanged: "Hosts switched to a new release by rollouts, including those later rolled back.",
	MetricLastHosts:    "Hosts switched to a new release by the last finished rollout.",
	MetricLastDuration: "Duration of the last finished rollout, whatever its outcome.",
	MetricLastSuccess:  "Unix time at which the last successful (done) rollout finished.",
	MetricInProgress:   "1 while a rollout is running, 0 otherwise.",
	MetricDeployedInfo: "The revision and config version the environment runs after the last finished rollout; always 1.",
}

// Help returns the HELP text of a metric family Render writes ("" for any
// other name).
func Help(metric string) string { return help[metric] }

// Render returns the metrics of app in env from c, in the Prometheus text
// exposition format (version 0.0.4), families in a fixed order. Label
// values that are not valid UTF-8 have the bad bytes replaced.
func Render(app, env string, c Counters) []byte {
	base := []*dto.LabelPair{label(LabelApp, app), label(LabelEnv, env)}
	with := func(extra ...*dto.LabelPair) []*dto.LabelPair {
		return append(append([]*dto.LabelPair(nil), base...), extra...)
	}
	counter := func(v float64, labels []*dto.LabelPair) *dto.Metric {
		return &dto.Metric{Label: labels, Counter: &dto.Counter{Value: &v}}
	}
	gauge := func(v float64, labels []*dto.LabelPair) *dto.Metric {
		return &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: &v}}
	}
	family := func(name string, t dto.MetricType, ms ...*dto.Metric) *dto.MetricFamily {
		h := help[name]
		return &dto.MetricFamily{Name: &name, Help: &h, Type: t.Enum(), Metric: ms}
	}

	var rollouts []*dto.Metric
	for _, o := range Outcomes() {
		rollouts = append(rollouts, counter(float64(c.Rollouts.Get(o)), with(label(LabelOutcome, o))))
	}
	fams := []*dto.MetricFamily{
		family(MetricRollouts, dto.MetricType_COUNTER, rollouts...),
		family(MetricRollbacks, dto.MetricType_COUNTER, counter(float64(c.Rollbacks), with())),
		family(MetricHostsChanged, dto.MetricType_COUNTER, counter(float64(c.HostsChanged), with())),
		family(MetricLastHosts, dto.MetricType_GAUGE, gauge(float64(c.LastHostsChanged), with())),
	}
	if c.Rollouts.Total() > 0 {
		fams = append(fams, family(MetricLastDuration, dto.MetricType_GAUGE, gauge(c.LastDuration.Seconds(), with())))
	}
	if !c.LastSuccess.IsZero() {
		ts := float64(c.LastSuccess.UnixNano()) / 1e9
		fams = append(fams, family(MetricLastSuccess, dto.MetricType_GAUGE, gauge(ts, with())))
	}
	inProgress := 0.0
	if c.InProgress {
		inProgress = 1
	}
	fams = append(fams, family(MetricInProgress, dto.MetricType_GAUGE, gauge(inProgress, with())))
	if c.Rev != "" {
		fams = append(fams, family(MetricDeployedInfo, dto.MetricType_GAUGE,
			gauge(1, with(label(LabelRev, c.Rev), label(LabelConfigVersion, c.ConfigVersion)))))
	}

	var buf bytes.Buffer
	for _, f := range fams {
		// Names and labels are constants and every family has a metric:
		// writing to a bytes.Buffer cannot fail.
		_, _ = expfmt.MetricFamilyToText(&buf, f)
	}
	return buf.Bytes()
}

func label(name, value string) *dto.LabelPair {
	value = strings.ToValidUTF8(value, "\uFFFD")
	return &dto.LabelPair{Name: &name, Value: &value}
}
