package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/internal/testfleet"
)

// On the real fleet, a good rollout and a rolled-back one: a webhook
// receiver gets start, finish, start, rollback, each with the secret
// header; a webhook that accepts and never answers is abandoned within its
// bound, told, and changes neither rollout's result; the Pushgateway shows
// the counters of both.
func TestE2ENotificationsAndMetrics(t *testing.T) {
	gw := testfleet.StartPushgateway(t)
	var mu sync.Mutex
	var kinds, auths []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Kind, Env string }
		json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev)
		mu.Lock()
		kinds, auths = append(kinds, ev.Kind), append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer recv.Close()
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	secret := filepath.Join(t.TempDir(), "chat.secret")
	if err := os.WriteFile(secret, []byte("Bearer s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := newE2EWith(t, testOverlay+fmt.Sprintf(`notify:
  webhooks:
    - {name: chat, url: "%s/hook", secret_file: %s}
    - {name: stuck, url: "http://%s/hook", timeout: 1s, retries: 0}
metrics:
  pushgateway: {url: "%s"}
`, recv.URL, secret, stuck.Addr(), gw))
	good := x.status().Hosts[0].Rev
	stopLoad := x.load()
	code, _, errOut := x.run("rollout", pickOther(x, good))
	if code != exitOK || !strings.Contains(errOut, `webhook "stuck"`) {
		t.Errorf("good rollout: exit %d; the stuck webhook told: %v", code, strings.Contains(errOut, `webhook "stuck"`))
	}
	if strings.Contains(errOut, "s3cr3t") {
		t.Error("the webhook secret was printed")
	}
	if code, _, _ := x.run("rollout", "bad-health"); code != exitRolledBack {
		t.Errorf("bad rollout: exit %d, want %d", code, exitRolledBack)
	}
	x.requireNoFailures(stopLoad)

	mu.Lock()
	if want := []string{"start", "finish", "start", "rollback"}; !slices.Equal(kinds, want) {
		t.Errorf("webhook got %v, want %v", kinds, want)
	}
	for _, a := range auths {
		if a != "Bearer s3cr3t-token" {
			t.Errorf("webhook Authorization %q", a)
		}
	}
	mu.Unlock()

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(gw + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	resp.Body.Close()
	series := func(name, outcome string) string {
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, `env="`+x.env+`"`) &&
				(outcome == "" || strings.Contains(line, `outcome="`+outcome+`"`)) {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return "missing"
	}
	for _, c := range []struct{ name, outcome, want string }{
		{"deployctl_rollouts_total", "done", "1"},
		{"deployctl_rollouts_total", "rolled-back", "1"},
		{"deployctl_rollbacks_total", "", "1"},
		{"deployctl_rollout_in_progress", "", "0"},
	} {
		if got := series(c.name, c.outcome); got != c.want {
			t.Errorf("pushgateway %s{outcome=%q} = %s, want %s", c.name, c.outcome, got, c.want)
		}
	}
}
