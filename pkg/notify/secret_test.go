package notify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testSecret   = "Bearer tok-0123456789abcdef"
	testURLUser  = "urluser-7f3a"
	testPassword = "pa55w0rd-xyz"
	testQuery    = "q-secret-123"
)

// forbidden are what no error, log line or String may contain: the
// secret, its token, a prefix of it and the URL's credentials.
var forbidden = []string{testSecret, "tok-0123456789abcdef", "tok-0123", testURLUser, testPassword, testQuery}

func checkClean(t *testing.T, what, text string) {
	t.Helper()
	for _, f := range forbidden {
		if strings.Contains(text, f) {
			t.Errorf("%s shows %q:\n%s", what, f, text)
		}
	}
}

// withCredentials puts user info and a query string on a base URL.
func withCredentials(base string) string {
	scheme, rest, _ := strings.Cut(base, "://")
	return scheme + "://" + testURLUser + ":" + testPassword + "@" + rest + "/hook?token=" + testQuery + "&x=1"
}

// echoServer answers status with a body made by body from the request.
func echoServer(t *testing.T, status int, body func(r *http.Request) string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body(r)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// reasonEchoServer is a raw HTTP server that puts the secret header it got
// in its status line's reason phrase and in its body.
func reasonEchoServer(t *testing.T) string {
	t.Helper()
	return "http://" + rawServer(t, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		auth := req.Header.Get("Authorization")
		body := "denied: " + auth + " at " + req.URL.String()
		fmt.Fprintf(c, "HTTP/1.1 500 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", auth, len(body), body)
	})
}

func TestSecretNeverShown(t *testing.T) {
	secretPath := writeFile(t, t.TempDir(), "token", testSecret+"\n")
	tests := []struct {
		name string
		base func(t *testing.T) string // the server, before credentials go on its URL
	}{
		{name: "echoed in the body", base: func(t *testing.T) string {
			return echoServer(t, 500, func(r *http.Request) string {
				return "you sent " + r.Header.Get("Authorization") + " to " + r.URL.String()
			})
		}},
		{name: "echoed as JSON", base: func(t *testing.T) string {
			return echoServer(t, 400, func(r *http.Request) string {
				b, _ := json.Marshal(map[string]any{"headers": r.Header, "url": r.URL.String()})
				return string(b)
			})
		}},
		{name: "echoed across lines", base: func(t *testing.T) string {
			return echoServer(t, 401, func(r *http.Request) string {
				return strings.ReplaceAll(r.Header.Get("Authorization"), " ", "\n\n   ")
			})
		}},
		{name: "echoed at the excerpt's cut", base: func(t *testing.T) string {
			return echoServer(t, 403, func(r *http.Request) string {
				return strings.Repeat("x", bodyExcerpt-20) + r.Header.Get("Authorization") // the cut falls inside the token
			})
		}},
		{name: "echoed in the status line", base: reasonEchoServer},
		{name: "never answers", base: func(t *testing.T) string { return "http://" + silentListener(t) }},
		{name: "connection refused", base: func(t *testing.T) string { return "http://" + closedPort(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewMultiHandler(
				slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
				slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
			))
			cfg := Config{Webhooks: []Webhook{{Name: "chat", URL: withCredentials(tt.base(t)), SecretFile: secretPath, Timeout: 400 * time.Millisecond, Retries: intp(1)}}}
			n := mustNew(t, cfg, Options{Logger: logger})
			errs := sendWithin(t, 5*time.Second, n, sampleEvent(KindFailure))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), `webhook "chat"`) {
				t.Fatalf("Send = %v, want one error naming the webhook", errs)
			}
			checkClean(t, "the error", errs[0].Error())
			for _, u := range urlInText.FindAllString(errs[0].Error(), -1) {
				if strings.ContainsAny(u, "?@") {
					t.Errorf("the error shows the URL %q with user info or a query", u)
				}
			}
			checkClean(t, "the log", logs.String())
			if !strings.Contains(logs.String(), "notify failed") {
				t.Errorf("no debug line for the failure in\n%s", logs.String())
			}
			t.Logf("error: %v", errs[0]) // what an operator sees
			checkClean(t, "%v of the Notifier", fmt.Sprintf("%v %+v %#v %s", n, n, n, n))
			checkClean(t, "%v of the Config", fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Webhooks[0]))
		})
	}
}

func TestSecretValueFormatsMasked(t *testing.T) {
	s := &secret{value: testSecret}
	var logs bytes.Buffer
	logger := slog.New(slog.NewMultiHandler(slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)))
	logger.Info("x", "secret", s)
	j, _ := json.Marshal(map[string]any{"s": s})
	holder := struct{ S *secret }{s}
	for _, text := range []string{
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d %T", s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder, holder, holder),
		fmt.Sprint(s), logs.String(), string(j),
	} {
		checkClean(t, "a formatted secret", text)
	}
}

func TestValidateShowsNoCredentials(t *testing.T) {
	for _, raw := range []string{
		"ftp://" + testURLUser + ":" + testPassword + "@h/p?token=" + testQuery,
		"http://" + testURLUser + ":" + testPassword + "@[::1/p?token=" + testQuery,
		"http://" + testURLUser + ":" + testPassword + "@/p?token=" + testQuery,
	} {
		errs := Config{Webhooks: []Webhook{{Name: "w", URL: raw}}}.Validate()
		if len(errs) != 1 || errs[0].Path != "notify.webhooks[0].url" {
			t.Errorf("Validate(%q) = %v, want one error at notify.webhooks[0].url", raw, errs)
			continue
		}
		checkClean(t, "a validation error", errs[0].Error())
		if _, err := New(Config{Webhooks: []Webhook{{Name: "w", URL: raw}}}, Options{}); err == nil {
			t.Errorf("New accepted %q", cleanURL(raw))
		} else {
			checkClean(t, "New's error", err.Error())
		}
	}
}

func TestCleanURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://u:p@host:8443/a/b?token=x#frag", "https://host:8443/..."},
		{"http://host/path", "http://host/..."},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/..."}, // the token is the path
		{"http://u:***@127.0.0.1:1/hook?token=q", "http://127.0.0.1:1/..."},
		{"http://u:p@[::1/x?y", "http://[::1/..."}, // does not parse: cut by hand
		{"http://host/?", "http://host/"},
	}
	for _, tt := range tests {
		if got := cleanURL(tt.in); got != tt.want {
			t.Errorf("cleanURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := newScrubber("", "").clean(`Post "http://user:***@127.0.0.1:9/hook?token=abc": dial tcp: refused`)
	if want := `Post "http://127.0.0.1:9/...": dial tcp: refused`; got != want {
		t.Errorf("clean = %q, want %q", got, want)
	}
}
