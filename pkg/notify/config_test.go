package notify

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// decode reads a notify section strictly, as the config loader does.
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
webhooks:
  - name: chat
    url: https://chat.example.org/hooks/deploys
    headers: {X-Channel: "#operations"}
    secret_header: X-Token
    secret_file: chat.token
    timeout: 3s
    retries: 0
    on: [finish, failure, rollback, abort]
  - url: http://sal.example.org:8080/log
commands:
  - {name: sal, argv: [/usr/local/bin/dologmsg, "--tag=deploy"], timeout: 10s, on: [start]}
  - argv: [/usr/local/bin/announce]
`

func TestConfigDecodesAndDefaults(t *testing.T) {
	c := decode(t, fullConfig)
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	want := Config{
		Webhooks: []Webhook{
			{Name: "chat", URL: "https://chat.example.org/hooks/deploys", Headers: map[string]string{"X-Channel": "#operations"},
				SecretHeader: "X-Token", SecretFile: "chat.token", Timeout: 3 * time.Second, Retries: intp(0),
				On: []Kind{KindFinish, KindFailure, KindRollback, KindAbort}},
			{Name: "sal.example.org:8080", URL: "http://sal.example.org:8080/log", Timeout: DefaultTimeout, Retries: intp(DefaultRetries)},
		},
		Commands: []Command{
			{Name: "sal", Argv: []string{"/usr/local/bin/dologmsg", "--tag=deploy"}, Timeout: 10 * time.Second, On: []Kind{KindStart}},
			{Name: "announce", Argv: []string{"/usr/local/bin/announce"}, Timeout: DefaultTimeout},
		},
	}
	got := c.WithDefaults()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults:\n%#v\nwant\n%#v", fmtConfig(got), fmtConfig(want))
	}
	if c.Webhooks[1].Retries != nil || c.Webhooks[1].Name != "" {
		t.Error("WithDefaults changed its receiver")
	}
	withSecret := Config{Webhooks: []Webhook{{URL: "http://h/", SecretFile: "f"}}}.WithDefaults()
	if h := withSecret.Webhooks[0].SecretHeader; h != "Authorization" {
		t.Errorf("default secret header %q", h)
	}
}

// fmtConfig shows a Config field by field (Webhook's String hides URLs).
func fmtConfig(c Config) []string {
	var out []string
	for _, w := range c.Webhooks {
		r := -1
		if w.Retries != nil {
			r = *w.Retries
		}
		out = append(out, strings.Join([]string{w.Name, w.URL, w.SecretHeader, w.SecretFile, w.Timeout.String(), strconv.Itoa(r)}, " "))
	}
	for _, cmd := range c.Commands {
		out = append(out, cmd.Name+" "+strings.Join(cmd.Argv, " ")+" "+cmd.Timeout.String())
	}
	return out
}

func TestConfigUnknownFieldRejected(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("webhooks: [{url: http://h/, retry: 3}]\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil || !strings.Contains(err.Error(), "retry") {
		t.Errorf("decode = %v, want an unknown field error", err)
	}
}

func TestValidate(t *testing.T) {
	type problem struct{ path, msg string }
	tests := []struct {
		name string
		yaml string
		want []problem // in order
	}{
		{name: "empty", yaml: "{}"},
		{name: "webhook without url", yaml: "webhooks: [{name: a}]",
			want: []problem{{"notify.webhooks[0].url", "required"}}},
		{name: "second webhook's url is named by index", yaml: "webhooks: [{url: 'http://ok/'}, {url: 'ftp://files/x'}]",
			want: []problem{{"notify.webhooks[1].url", `"ftp://files/...": want an http:// or https:// URL`}}},
		{name: "url without scheme", yaml: "webhooks: [{url: chat.example.org/hook}]",
			want: []problem{{"notify.webhooks[0].url", "want an http:// or https:// URL"}}},
		{name: "url without host", yaml: "webhooks: [{url: 'http:///hook'}]",
			want: []problem{{"notify.webhooks[0].url", "no host"}}},
		{name: "url that does not parse", yaml: "webhooks: [{url: 'http://[::1/'}]",
			want: []problem{{"notify.webhooks[0].url", "not a valid URL"}}},
		{name: "negative timeouts", yaml: "webhooks: [{url: 'http://h/', timeout: -1s}]\ncommands: [{argv: [x], timeout: -2s}]",
			want: []problem{{"notify.webhooks[0].timeout", "must not be negative"}, {"notify.commands[0].timeout", "must not be negative"}}},
		{name: "retries out of range", yaml: "webhooks: [{url: 'http://a/', retries: -1}, {url: 'http://b/', retries: 11}]",
			want: []problem{{"notify.webhooks[0].retries", "want 0 to 10"}, {"notify.webhooks[1].retries", "want 0 to 10"}}},
		{name: "unknown kinds", yaml: "webhooks: [{url: 'http://h/', on: [finish, success]}]\ncommands: [{argv: [x], on: [Start]}]",
			want: []problem{{"notify.webhooks[0].on[1]", `unknown kind "success"`}, {"notify.commands[0].on[0]", `unknown kind "Start"`}}},
		{name: "secret_header without secret_file", yaml: "webhooks: [{url: 'http://h/', secret_header: X-Token}]",
			want: []problem{{"notify.webhooks[0].secret_header", "needs secret_file"}}},
		{name: "bad secret_header", yaml: "webhooks: [{url: 'http://h/', secret_file: f, secret_header: 'X Token'}]",
			want: []problem{{"notify.webhooks[0].secret_header", "not a valid HTTP header name"}}},
		{name: "header that is the secret's", yaml: "webhooks: [{url: 'http://h/', secret_file: f, headers: {authorization: inline}}]",
			want: []problem{{"notify.webhooks[0].headers.authorization", "also set by secret_header"}}},
		{name: "bad header name and value", yaml: "webhooks: [{url: 'http://h/', headers: {'X Bad': v, X-Good: \"a\\nb\"}}]",
			want: []problem{{`notify.webhooks[0].headers["X Bad"]`, "not a valid HTTP header name"}, {"notify.webhooks[0].headers.X-Good", "line break"}}},
		{name: "duplicate webhook names", yaml: "webhooks: [{name: chat, url: 'http://a/'}, {name: chat, url: 'http://b/'}]",
			want: []problem{{"notify.webhooks[1].name", `duplicate name "chat" (also notify.webhooks[0])`}}},
		{name: "duplicate default names", yaml: "webhooks: [{url: 'http://h/a'}, {url: 'http://h/b'}]",
			want: []problem{{"notify.webhooks[1].name", `duplicate name "h"`}}},
		{name: "a webhook and a command may share a name", yaml: "webhooks: [{name: x, url: 'http://h/'}]\ncommands: [{name: x, argv: [x]}]"},
		{name: "empty argv", yaml: "commands: [{name: c}]",
			want: []problem{{"notify.commands[0].argv", "required"}}},
		{name: "empty command", yaml: "commands: [{argv: ['', x]}]",
			want: []problem{{"notify.commands[0].argv[0]", "empty command"}}},
		{name: "NUL in an argument", yaml: "commands: [{argv: [x, \"a\\0b\"]}]",
			want: []problem{{"notify.commands[0].argv[1]", "NUL"}}},
		{name: "every problem at once", yaml: "webhooks: [{url: 'gopher://h/', retries: 99, on: [boom]}]\ncommands: [{argv: [], timeout: -1s}]",
			want: []problem{
				{"notify.webhooks[0].url", "want an http"}, {"notify.webhooks[0].retries", "want 0 to 10"}, {"notify.webhooks[0].on[0]", "unknown kind"},
				{"notify.commands[0].argv", "required"}, {"notify.commands[0].timeout", "negative"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := decode(t, tt.yaml).Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("Validate() = %v, want %d problems %v", errs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if errs[i].Path != w.path || !strings.Contains(errs[i].Msg, w.msg) {
					t.Errorf("problem %d = %q, want %s: ...%s...", i, errs[i], w.path, w.msg)
				}
				if !strings.HasPrefix(errs[i].Error(), w.path+": ") {
					t.Errorf("error %q does not start with its path", errs[i])
				}
			}
			if _, err := New(decode(t, tt.yaml), Options{}); (err != nil) != (len(tt.want) > 0) {
				t.Errorf("New error = %v, want an error: %v", err, len(tt.want) > 0)
			} else if err != nil && !strings.Contains(err.Error(), tt.want[0].path+": ") {
				t.Errorf("New error %q does not name %s", err, tt.want[0].path)
			}
		})
	}
}

func TestNewSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty", "\n  \nsecond line is not read\n")
	if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		want       string
	}{
		{name: "missing", file: "missing", want: "no such file"},
		{name: "empty first line", file: "empty", want: "the first line is empty"},
		{name: "not a file", file: "a-directory", want: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Webhooks: []Webhook{{Name: "w", URL: "http://h/", SecretFile: tt.file}}},
				Options{Resolve: func(p string) string { return filepath.Join(dir, p) }})
			if err == nil || !strings.HasPrefix(err.Error(), "notify.webhooks[0].secret_file: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want notify.webhooks[0].secret_file: ...%s...", err, tt.want)
			}
			if strings.Contains(err.Error(), "second line") {
				t.Errorf("New error %q shows the file's content", err)
			}
		})
	}
}
