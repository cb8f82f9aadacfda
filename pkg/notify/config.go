package notify

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
)

// Defaults for Config; a zero value means the default.
const (
	DefaultTimeout      = 5 * time.Second // a target's whole bound, every attempt included
	DefaultRetries      = 2               // a webhook's attempts after the first
	DefaultSecretHeader = "Authorization"
	MaxRetries          = 10 // the most retries Validate accepts
)

// Section is the key of Config in deployctl.yaml; Validate's paths start
// with it.
const Section = "notify"

// Config is the notify section of deployctl's configuration.
type Config struct {
	Webhooks []Webhook `yaml:"webhooks"`
	Commands []Command `yaml:"commands"`
}

// Webhook is a POST of each Event as JSON to an http(s) URL.
type Webhook struct {
	Name    string            `yaml:"name"`    // in errors and logs; default the URL's host
	URL     string            `yaml:"url"`     // required, http:// or https://
	Headers map[string]string `yaml:"headers"` // extra request headers (may replace Content-Type, User-Agent)
	// SecretFile holds the secret (its first line), sent as the value of
	// SecretHeader. The secret is never printed; a relative path goes
	// through Options.Resolve.
	SecretFile   string        `yaml:"secret_file"`
	SecretHeader string        `yaml:"secret_header"` // default Authorization; needs secret_file
	Timeout      time.Duration `yaml:"timeout"`       // bound on all attempts; default 5s
	Retries      *int          `yaml:"retries"`       // attempts after the first; default 2, 0 for none
	On           []Kind        `yaml:"on"`            // kinds sent; empty: every kind
}

// Command is an argv run on this machine for each Event: no shell, the
// event as JSON on stdin and DEPLOYCTL_* environment variables.
type Command struct {
	Name    string        `yaml:"name"`    // in errors and logs; default the base name of argv[0]
	Argv    []string      `yaml:"argv"`    // required; argv[0] is looked up in PATH
	Timeout time.Duration `yaml:"timeout"` // then its process group is killed; default 5s
	On      []Kind        `yaml:"on"`      // kinds sent; empty: every kind
}

// String shows w without the URL's user info and query string.
func (w Webhook) String() string {
	return fmt.Sprintf("webhook %q %s", w.name(), cleanURL(w.URL))
}

// GoString is String, so that %#v shows no credentials either.
func (w Webhook) GoString() string { return w.String() }

// name returns the configured name or the default, the URL's host.
func (w Webhook) name() string {
	if w.Name != "" {
		return w.Name
	}
	if u, err := url.Parse(w.URL); err == nil && u.Host != "" {
		return u.Host
	}
	return "webhook"
}

// name returns the configured name or the default, argv[0]'s base name.
func (c Command) name() string {
	if c.Name != "" {
		return c.Name
	}
	if len(c.Argv) > 0 && c.Argv[0] != "" {
		return filepath.Base(c.Argv[0])
	}
	return "command"
}

// WithDefaults returns c with every zero value replaced by its default.
// It copies what it changes, so c is left as it was.
func (c Config) WithDefaults() Config {
	timeout := func(d time.Duration) time.Duration {
		if d == 0 {
			return DefaultTimeout
		}
		return d
	}
	out := Config{Webhooks: make([]Webhook, len(c.Webhooks)), Commands: make([]Command, len(c.Commands))}
	for i, w := range c.Webhooks {
		w.Name = w.name()
		w.Timeout = timeout(w.Timeout)
		r := DefaultRetries
		if w.Retries != nil {
			r = *w.Retries
		}
		w.Retries = &r
		if w.SecretHeader == "" && w.SecretFile != "" {
			w.SecretHeader = DefaultSecretHeader
		}
		out.Webhooks[i] = w
	}
	for i, cmd := range c.Commands {
		cmd.Name = cmd.name()
		cmd.Timeout = timeout(cmd.Timeout)
		out.Commands[i] = cmd
	}
	return out
}

// Validate reports every problem in c at once. Paths start at the root of
// the configuration ("notify.webhooks[1].url"). No message quotes a secret
// or a URL's user info or query string.
func (c Config) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	names := map[string]string{} // kind and name -> path of its first use
	unique := func(path, kind, name string) {
		if first, ok := names[kind+" "+name]; ok {
			add(path+".name", "duplicate name %q (also %s): give each %s its own name", name, first, kind)
			return
		}
		names[kind+" "+name] = path
	}
	for i, w := range c.Webhooks {
		p := fmt.Sprintf("%s.webhooks[%d]", Section, i)
		unique(p, "webhook", w.name())
		if msg := checkURL(w.URL); msg != "" {
			add(p+".url", "%s", msg)
		}
		for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
			hp := p + ".headers." + k
			if !validHeaderName(k) {
				hp = fmt.Sprintf("%s.headers[%q]", p, k)
				add(hp, "not a valid HTTP header name")
			}
			if strings.ContainsAny(w.Headers[k], "\r\n\x00") {
				add(hp, "the value contains a line break or NUL") // the value itself may be a secret
			}
			if w.SecretFile != "" && strings.EqualFold(k, secretHeader(w)) {
				add(hp, "also set by secret_header; the secret goes only through secret_file")
			}
		}
		if w.SecretHeader != "" {
			if !validHeaderName(w.SecretHeader) {
				add(p+".secret_header", "%q: not a valid HTTP header name", w.SecretHeader)
			}
			if w.SecretFile == "" {
				add(p+".secret_header", "needs secret_file")
			}
		}
		checkTimeout(add, p, w.Timeout)
		if w.Retries != nil && (*w.Retries < 0 || *w.Retries > MaxRetries) {
			add(p+".retries", "%d: want 0 to %d", *w.Retries, MaxRetries)
		}
		checkKinds(add, p, w.On)
	}
	for i, cmd := range c.Commands {
		p := fmt.Sprintf("%s.commands[%d]", Section, i)
		unique(p, "command", cmd.name())
		if len(cmd.Argv) == 0 {
			add(p+".argv", "required: the command and its arguments, run without a shell")
		}
		for j, a := range cmd.Argv {
			switch {
			case j == 0 && a == "":
				add(fmt.Sprintf("%s.argv[0]", p), "empty command")
			case strings.ContainsRune(a, 0):
				add(fmt.Sprintf("%s.argv[%d]", p, j), "contains a NUL byte")
			}
		}
		checkTimeout(add, p, cmd.Timeout)
		checkKinds(add, p, cmd.On)
	}
	return errs
}

// validateErr joins Validate's problems into one error, or nil.
func (c Config) validateErr() error {
	fe := c.Validate()
	if len(fe) == 0 {
		return nil
	}
	errs := make([]error, len(fe))
	for i, e := range fe {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func checkTimeout(add func(string, string, ...any), path string, d time.Duration) {
	if d < 0 {
		add(path+".timeout", "%s: must not be negative (0 means the default, %s)", d, DefaultTimeout)
	}
}

func checkKinds(add func(string, string, ...any), path string, on []Kind) {
	for j, k := range on {
		if !k.Valid() {
			add(fmt.Sprintf("%s.on[%d]", path, j), "unknown kind %q (want start, finish, failure, rollback or abort)", k)
		}
	}
}

// checkURL returns what is wrong with a webhook URL, or "". It quotes the
// URL only without its user info and query string, and a URL that does
// not parse not at all (url.Parse's error quotes it whole).
func checkURL(raw string) string {
	if raw == "" {
		return "required: an http:// or https:// URL"
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("not a valid URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q: want an http:// or https:// URL", cleanURL(raw))
	case u.Host == "":
		return fmt.Sprintf("%q: no host", cleanURL(raw))
	}
	return ""
}

// secretHeader is the header w's secret goes in.
func secretHeader(w Webhook) string {
	if w.SecretHeader != "" {
		return w.SecretHeader
	}
	return DefaultSecretHeader
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 field-name).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
