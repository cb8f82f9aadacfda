package pool

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deployctl/deployctl/pkg/field"
)

// decode reads a pool section strictly, as the config loader does.
func decode(t *testing.T, src string) Config {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return c
}

const fullConfig = `
backend: etcd
min_pooled: "50%"
drain_timeout: 10s
verify_timeout: 10s
etcd:
  endpoints: [http://127.0.0.1:12379]
  key: /conftool/v1/pools/{dc}/{cluster}/{service}/{host}
  dial_timeout: 5s
  request_timeout: 5s
  username: ""
  password_file: ""
  tls: {ca_file: "", cert_file: "", key_file: ""}
  haproxy_status: tcp://127.0.0.1:19999
  haproxy_backend: exampleapp
  haproxy_server: "{host}"
haproxy:
  address: tcp://127.0.0.1:19999
  backend: exampleapp
  server: "{host}"
  timeout: 5s
`

func TestConfigDecodesTheDocumentedExample(t *testing.T) {
	c := decode(t, fullConfig)
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if c.Etcd.HAProxyStatus != "tcp://127.0.0.1:19999" || c.DrainTimeout != 10*time.Second || c.HAProxy.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", c)
	}
	want := map[string]string{"etcd.key": "/conftool/v1/pools/{dc}/{cluster}/{service}/{host}", "etcd.haproxy_server": "{host}"}
	if got := c.Templates(); !reflect.DeepEqual(got, want) {
		t.Errorf("Templates() = %v, want %v", got, want)
	}
}

func TestConfigMinPooledAsNumber(t *testing.T) {
	c := decode(t, "min_pooled: 2\n")
	if c.MinPooled != "2" {
		t.Errorf("min_pooled: 2 decoded as %q", c.MinPooled)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	want := Config{
		Backend: BackendNone, MinPooled: "50%", DrainTimeout: DefaultDrainTimeout, VerifyTimeout: DefaultVerifyTimeout,
		Etcd:    EtcdConfig{Key: DefaultEtcdKey, DialTimeout: DefaultDialTimeout, RequestTimeout: DefaultRequestTimeout, HAProxyServer: "{host}"},
		HAProxy: HAProxyConfig{Server: "{host}", Timeout: DefaultHAProxyTimeout},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n%+v\nwant\n%+v", c, want)
	}
	if errs := (Config{}).Validate(); len(errs) > 0 {
		t.Errorf("the empty config (backend none) is invalid: %v", errs)
	}
	if tm := (Config{}).Templates(); tm != nil {
		t.Errorf("none has templates: %v", tm)
	}
	if tm := (Config{Backend: BackendHAProxy}).Templates(); !reflect.DeepEqual(tm, map[string]string{"haproxy.server": "{host}"}) {
		t.Errorf("haproxy templates: %v", tm)
	}
}

func paths(errs []*field.Error) []string {
	var p []string
	for _, e := range errs {
		p = append(p, e.Path)
	}
	sort.Strings(p)
	return p
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every path reported, sorted
	}{
		{name: "unknown backend", yaml: "backend: f5", want: []string{"backend"}},
		{name: "bad min_pooled", yaml: "min_pooled: half", want: []string{"min_pooled"}},
		{name: "percent over 100", yaml: `min_pooled: "150%"`, want: []string{"min_pooled"}},
		{name: "negative timeouts", yaml: "drain_timeout: -1s\nverify_timeout: -2s", want: []string{"drain_timeout", "verify_timeout"}},
		{name: "etcd without endpoints", yaml: "backend: etcd", want: []string{"etcd.endpoints"}},
		{name: "etcd bad endpoints", yaml: "backend: etcd\netcd: {endpoints: ['127.0.0.1:2379', 'ftp://x', 'http://']}",
			want: []string{"etcd.endpoints[0]", "etcd.endpoints[1]", "etcd.endpoints[2]"}},
		{name: "etcd key not per host", yaml: "backend: etcd\netcd: {endpoints: [http://e:1], key: /conftool/v1/pools/all}",
			want: []string{"etcd.key"}},
		{name: "etcd key relative", yaml: "backend: etcd\netcd: {endpoints: [http://e:1], key: 'pools/{host}'}",
			want: []string{"etcd.key"}},
		{name: "etcd username without password", yaml: "backend: etcd\netcd: {endpoints: [http://e:1], username: root}",
			want: []string{"etcd.password_file"}},
		{name: "etcd cert without key", yaml: "backend: etcd\netcd: {endpoints: [https://e:1], tls: {cert_file: c.pem}}",
			want: []string{"etcd.tls"}},
		{name: "etcd haproxy_status without backend", yaml: "backend: etcd\netcd: {endpoints: [http://e:1], haproxy_status: tcp://127.0.0.1:1}",
			want: []string{"etcd.haproxy_backend"}},
		{name: "etcd bad haproxy_status", yaml: "backend: etcd\netcd: {endpoints: [http://e:1], haproxy_status: '127.0.0.1:1', haproxy_backend: 'a b'}",
			want: []string{"etcd.haproxy_backend", "etcd.haproxy_status"}},
		{name: "haproxy empty", yaml: "backend: haproxy", want: []string{"haproxy.address", "haproxy.backend"}},
		{name: "haproxy bad address and backend", yaml: "backend: haproxy\nhaproxy: {address: 'http://x:1', backend: 'x;y'}",
			want: []string{"haproxy.address", "haproxy.backend"}},
		{name: "haproxy tcp without port", yaml: "backend: haproxy\nhaproxy: {address: 'tcp://127.0.0.1', backend: b}",
			want: []string{"haproxy.address"}},
		{name: "haproxy unix ok", yaml: "backend: haproxy\nhaproxy: {address: 'unix:///run/haproxy/admin.sock', backend: b}"},
		{name: "other backend's section ignored", yaml: "backend: haproxy\nhaproxy: {address: 'tcp://h:1', backend: b}\netcd: {key: nope}"},
		{name: "every problem at once", yaml: "backend: haproxy\nmin_pooled: x\ndrain_timeout: -1s",
			want: []string{"drain_timeout", "haproxy.address", "haproxy.backend", "min_pooled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := decode(t, tt.yaml).Validate()
			if got := paths(errs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate() paths = %v, want %v (errors: %v)", got, tt.want, errs)
			}
		})
	}
}

func TestConfigUnknownFieldRejected(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("backend: etcd\netcd: {endpoint: http://x:1}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Error("a misspelled field decoded without error")
	}
}
