package deploymetrics

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
)

// Defaults for Config; a zero value in Config means the default.
const (
	DefaultJob     = "deployctl"
	DefaultTimeout = 5 * time.Second
)

// Config is the metrics section of deployctl's configuration (the
// "metrics:" key). Both outputs are optional; with neither, Write does
// nothing.
//
//	metrics:
//	  textfile: /var/lib/prometheus/node-exporter/deployctl-{app}-{env}.prom
//	  pushgateway:
//	    url: http://pushgateway.example:9091
//	    job: deployctl   # the default
//	    timeout: 5s      # the default
type Config struct {
	// Textfile is a file for node_exporter's textfile collector. It must
	// end in .prom; {app} and {env} are replaced by the app and the
	// environment (with any character but letters, digits, '.', '_' and
	// '-' as '_'). Its directory must exist.
	Textfile    string            `yaml:"textfile"`
	Pushgateway PushgatewayConfig `yaml:"pushgateway"`
}

// PushgatewayConfig says where to push the metrics. URL may carry basic
// auth credentials (http://user:pass@host:9091) and a path prefix.
type PushgatewayConfig struct {
	URL     string        `yaml:"url"`     // http:// or https://; empty: no push
	Job     string        `yaml:"job"`     // the job label (default DefaultJob)
	Timeout time.Duration `yaml:"timeout"` // the whole push, connect to answer (default DefaultTimeout)
}

// Enabled reports whether c asks for any output.
func (c Config) Enabled() bool {
	return c.Textfile != "" || c.Pushgateway.URL != ""
}

// WithDefaults returns c with every zero value replaced by its default.
func (c Config) WithDefaults() Config {
	if c.Pushgateway.Job == "" {
		c.Pushgateway.Job = DefaultJob
	}
	if c.Pushgateway.Timeout == 0 {
		c.Pushgateway.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem in c at once, with paths relative to the
// metrics section ("pushgateway.url"); prefix them with field.Prefix.
// Messages never show the URL's password.
func (c Config) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if c.Textfile != "" {
		base := filepath.Base(c.Textfile)
		switch {
		case strings.HasSuffix(c.Textfile, "/"):
			add("textfile", "%q is a directory: name the file (ending in .prom)", c.Textfile)
		case !strings.HasSuffix(base, ".prom") || base == ".prom":
			add("textfile", "%q: the file name must end in .prom (node_exporter's textfile collector reads only those)", c.Textfile)
		}
	}
	pg := c.Pushgateway
	if pg.URL == "" {
		if pg.Job != "" || pg.Timeout != 0 {
			add("pushgateway.url", "required when pushgateway.job or pushgateway.timeout is set")
		}
	} else if _, err := parsePushURL(pg.URL); err != nil {
		add("pushgateway.url", "%v", err)
	}
	if pg.Timeout < 0 {
		add("pushgateway.timeout", "must not be negative (0 means the default, %s)", DefaultTimeout)
	}
	return errs
}

// parsePushURL checks a Pushgateway base URL; errors show it without its
// password.
func parsePushURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the input, password included.
		return nil, fmt.Errorf("not a URL")
	}
	show := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", show)
	case u.Host == "":
		return nil, fmt.Errorf("%q: no host", show)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%q: no query or fragment allowed (the push path is appended)", show)
	case u.Opaque != "":
		return nil, fmt.Errorf("%q: not a hierarchical URL", show)
	}
	return u, nil
}

// textfilePath fills {app} and {env} in the configured textfile path.
func textfilePath(path, app, env string) string {
	return strings.NewReplacer("{app}", fileSafe(app), "{env}", fileSafe(env)).Replace(path)
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}
