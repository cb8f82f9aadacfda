package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// masked stands in for anything secret.
const masked = "***"

// cleanURL returns raw without user info, query string or fragment: what
// messages may show of a URL.
func cleanURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cut by hand rather than risk showing a secret.
		s := raw
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		if scheme, rest, ok := strings.Cut(s, "://"); ok {
			if at := strings.LastIndexByte(rest, '@'); at >= 0 {
				rest = rest[at+1:]
			}
			if slash := strings.IndexByte(rest, '/'); slash >= 0 && slash < len(rest)-1 {
				rest = rest[:slash] + "/..."
			}
			s = scheme + "://" + rest
		}
		return s
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	if u.Path != "" && u.Path != "/" {
		// Incoming-webhook URLs (Slack, Discord, Teams) carry their token
		// in the path: show only where it goes.
		u.Path, u.RawPath = "/...", ""
	}
	return u.String()
}

// urlInText finds URLs in messages (Go's url.Error quotes them).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// scrubber makes a message safe to show: URLs in it lose their user info
// and query string, and each known secret string is masked. It is used
// by pointer, so that printing what holds one shows no secret.
type scrubber struct {
	secrets []string // longest first
}

// minScrubbed is the shortest part of a URL's credentials or of a secret
// that is masked on its own (the whole secret is always masked).
const minScrubbed = 4

// newScrubber returns a scrubber for a target with this URL (or "") and
// this secret (or "").
func newScrubber(rawURL, secret string) *scrubber {
	var s []string
	addMin := func(v string, n int) {
		if len(v) >= n {
			s = append(s, v)
		}
	}
	if secret != "" {
		s = append(s, secret)
		if q, err := json.Marshal(secret); err == nil {
			s = append(s, strings.Trim(string(q), `"`))
		}
		s = append(s, url.QueryEscape(secret), url.PathEscape(secret))
		// "Bearer <token>": the token alone may be echoed too.
		for _, part := range strings.Fields(secret) {
			addMin(part, 8)
		}
	}
	if u, err := url.Parse(rawURL); err == nil {
		if u.User != nil {
			addMin(u.User.Username(), minScrubbed)
			p, _ := u.User.Password()
			addMin(p, minScrubbed)
			for _, enc := range strings.SplitN(u.User.String(), ":", 2) {
				addMin(enc, minScrubbed)
			}
		}
		addMin(u.RawQuery, minScrubbed)
		for _, vs := range u.Query() {
			for _, v := range vs {
				addMin(v, minScrubbed)
			}
		}
	}
	s = slices.DeleteFunc(s, func(v string) bool { return v == "" })
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return &scrubber{secrets: slices.Compact(s)}
}

// clean returns msg safe to show.
func (s *scrubber) clean(msg string) string {
	msg = urlInText.ReplaceAllStringFunc(msg, cleanURL)
	for _, v := range s.secrets {
		msg = strings.ReplaceAll(msg, v, masked)
	}
	return msg
}

// ErrTimeout is matched (errors.Is) by the errors of targets that did not
// finish within their timeout.
var ErrTimeout = errors.New("notify: timed out")

// safeError is an error whose text has been scrubbed. It wraps nothing
// but ErrTimeout, so that no caller can unwrap its way to the text
// before scrubbing.
type safeError struct {
	msg     string
	timeout bool
}

func (e *safeError) Error() string { return e.msg }

func (e *safeError) Is(target error) bool { return e.timeout && target == ErrTimeout }

// timeoutError marks an error as a timeout, for safeError.
type timeoutError struct{ error }

func (timeoutError) Is(target error) bool { return target == ErrTimeout }

func (e timeoutError) Unwrap() error { return e.error }

func timeoutf(format string, args ...any) error { return timeoutError{fmt.Errorf(format, args...)} }

// secret is a value never shown: every fmt verb, slog and JSON see ***.
// Targets hold it by pointer, so printing a struct that holds one shows an
// address, not the value.
type secret struct{ value string }

func (s *secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(masked)) }
func (s *secret) String() string             { return masked }
func (s *secret) GoString() string           { return masked }
func (s *secret) LogValue() slog.Value       { return slog.StringValue(masked) }
func (s *secret) MarshalText() ([]byte, error) {
	return []byte(masked), nil
}
