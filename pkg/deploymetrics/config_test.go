package deploymetrics_test

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/field"
)

func TestConfigYAML(t *testing.T) {
	const doc = `
metrics:
  textfile: /var/lib/prometheus/node-exporter/deployctl-{app}-{env}.prom
  pushgateway:
    url: https://user:secret@pgw.example:9091/prefix
    job: deploys
    timeout: 2500ms
`
	var root struct {
		Metrics deploymetrics.Config `yaml:"metrics"`
	}
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	want := deploymetrics.Config{
		Textfile: "/var/lib/prometheus/node-exporter/deployctl-{app}-{env}.prom",
		Pushgateway: deploymetrics.PushgatewayConfig{
			URL: "https://user:secret@pgw.example:9091/prefix", Job: "deploys", Timeout: 2500 * time.Millisecond,
		},
	}
	if root.Metrics != want {
		t.Errorf("decoded %+v, want %+v", root.Metrics, want)
	}
	if errs := root.Metrics.Validate(); len(errs) > 0 {
		t.Errorf("valid config: %v", errs)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: "http://127.0.0.1:9091"}}.WithDefaults()
	if c.Pushgateway.Job != "deployctl" || c.Pushgateway.Timeout != 5*time.Second {
		t.Errorf("defaults: %+v", c.Pushgateway)
	}
	if (deploymetrics.Config{}).Enabled() {
		t.Error("zero Config enabled")
	}
	if !(deploymetrics.Config{Textfile: "/x/a.prom"}).Enabled() || !c.Enabled() {
		t.Error("Enabled false with an output")
	}
	if errs := (deploymetrics.Config{}).Validate(); len(errs) > 0 {
		t.Errorf("zero Config: %v", errs)
	}
}

func TestConfigValidate(t *testing.T) {
	pg := func(url string) deploymetrics.Config {
		return deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: url}}
	}
	tests := []struct {
		name string
		cfg  deploymetrics.Config
		want []string // "path: substring of the message"
	}{
		{"textfile not .prom", deploymetrics.Config{Textfile: "/var/lib/node/deployctl.txt"}, []string{"textfile: "}},
		{"textfile only .prom", deploymetrics.Config{Textfile: "/var/lib/node/.prom"}, []string{"textfile: "}},
		{"textfile a directory", deploymetrics.Config{Textfile: "/var/lib/node.prom/"}, []string{"textfile: "}},
		{"textfile ok relative", deploymetrics.Config{Textfile: "deployctl.prom"}, nil},
		{"url scheme", pg("ftp://pgw:9091"), []string{"pushgateway.url: "}},
		{"url no host", pg("http://"), []string{"pushgateway.url: "}},
		{"url query", pg("http://pgw:9091/?x=1"), []string{"pushgateway.url: "}},
		{"url fragment", pg("http://pgw:9091/#x"), []string{"pushgateway.url: "}},
		{"url garbage", pg("http://pgw:9091/%zz"), []string{"pushgateway.url: "}},
		{"job without url", deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{Job: "x"}}, []string{"pushgateway.url: required"}},
		{"negative timeout", deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: "http://pgw:9091", Timeout: -time.Second}}, []string{"pushgateway.timeout: "}},
		{"all at once",
			deploymetrics.Config{Textfile: "x.txt", Pushgateway: deploymetrics.PushgatewayConfig{URL: "gopher://x", Timeout: -1}},
			[]string{"textfile: ", "pushgateway.url: ", "pushgateway.timeout: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.cfg.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d: %v", errs, len(tt.want), tt.want)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tt.want[i]) {
					t.Errorf("error %d: %q, want it to start with %q", i, e, tt.want[i])
				}
			}
			// The loader puts the section's name in front.
			for _, e := range field.Prefix("metrics", errs) {
				if !strings.HasPrefix(e.Path, "metrics.") {
					t.Errorf("prefixed path %q", e.Path)
				}
			}
		})
	}
}

func TestConfigValidateHidesPassword(t *testing.T) {
	for _, url := range []string{"ftp://user:hunter2@pgw:9091", "http://user:hunter2@pgw:9091/?q", "http://user:hunter2@pgw:9091/%zz"} {
		errs := deploymetrics.Config{Pushgateway: deploymetrics.PushgatewayConfig{URL: url}}.Validate()
		if len(errs) != 1 {
			t.Fatalf("%s: %v", url, errs)
		}
		if strings.Contains(errs[0].Error(), "hunter2") {
			t.Errorf("error shows the password: %v", errs[0])
		}
	}
}
