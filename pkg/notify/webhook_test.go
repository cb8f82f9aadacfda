package notify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhookPostsTheEventWithItsSecret(t *testing.T) {
	dir := t.TempDir()
	secretPath := writeFile(t, dir, "token", "Bearer s3cr3t-token-value\nsecond line ignored\n")
	tests := []struct {
		name       string
		hook       Webhook
		wantHeader string // where the secret must be
	}{
		{name: "default secret header", hook: Webhook{SecretFile: secretPath}, wantHeader: "Authorization"},
		{name: "custom secret header", hook: Webhook{SecretFile: secretPath, SecretHeader: "X-Deploy-Token"}, wantHeader: "X-Deploy-Token"},
		{name: "relative secret file through Resolve", hook: Webhook{SecretFile: "token"}, wantHeader: "Authorization"},
		{name: "no secret", hook: Webhook{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, http.StatusNoContent)
			h := tt.hook
			h.Name, h.URL, h.Headers = "chat", rec.srv.URL+"/hooks/deploys", map[string]string{"X-Channel": "#operations"}
			n := mustNew(t, Config{Webhooks: []Webhook{h}}, Options{Resolve: func(p string) string { return dir + "/" + p }})
			ev := sampleEvent(KindFailure)
			if errs := n.Send(t.Context(), ev); len(errs) > 0 {
				t.Fatalf("Send: %v", errs)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Channel") != "#operations" {
				t.Errorf("request: %s, headers %v", r.method, r.header)
			}
			var got Event
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if !reflect.DeepEqual(got, ev) {
				t.Errorf("body decodes to\n%+v\nwant\n%+v", got, ev)
			}
			if tt.wantHeader == "" {
				if a := r.header.Get("Authorization"); a != "" {
					t.Errorf("Authorization = %q with no secret", a)
				}
				return
			}
			if v := r.header.Get(tt.wantHeader); v != "Bearer s3cr3t-token-value" {
				t.Errorf("%s = %q, want the first line of the secret file", tt.wantHeader, v)
			}
		})
	}
}

func TestWebhookStatuses(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // answered in turn, the last repeating
		retries  int
		wantReqs int
		wantErr  string // "" for success
	}{
		{name: "200", statuses: []int{200}, retries: 2, wantReqs: 1},
		{name: "any 2xx", statuses: []int{202}, retries: 2, wantReqs: 1},
		{name: "500 then 200 is retried", statuses: []int{500, 200}, retries: 2, wantReqs: 2},
		{name: "429 then 204 is retried", statuses: []int{429, 204}, retries: 2, wantReqs: 2},
		{name: "503 every time", statuses: []int{503}, retries: 2, wantReqs: 3, wantErr: `notify: webhook "hook": status 503 Service Unavailable (3 attempts)`},
		{name: "no retries", statuses: []int{500, 200}, retries: 0, wantReqs: 1, wantErr: "status 500 Internal Server Error (1 attempt)"},
		{name: "4xx is not retried", statuses: []int{404}, retries: 2, wantReqs: 1, wantErr: `webhook "hook": status 404 Not Found`},
		{name: "redirect is not followed", statuses: []int{302}, retries: 2, wantReqs: 1, wantErr: "status 302 Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, tt.statuses...)
			n := mustNew(t, Config{Webhooks: []Webhook{{Name: "hook", URL: rec.srv.URL, Retries: intp(tt.retries), Timeout: 10 * time.Second}}}, Options{})
			errs := sendWithin(t, 20*time.Second, n, sampleEvent(KindFinish))
			if got := len(rec.requests()); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("Send: %v", errs)
			case tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr)):
				t.Errorf("Send = %q, want one error containing %q", errText(errs), tt.wantErr)
			}
		})
	}
}

func TestWebhookRedirectTargetGetsNothing(t *testing.T) {
	other := newRecorder(t)
	srv := httptest.NewServer(http.RedirectHandler(other.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	secretPath := writeFile(t, t.TempDir(), "s", "X-token-1234567890")
	n := mustNew(t, Config{Webhooks: []Webhook{{Name: "r", URL: srv.URL, SecretFile: secretPath, SecretHeader: "X-Token"}}}, Options{})
	errs := n.Send(t.Context(), sampleEvent(KindStart))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "307") {
		t.Errorf("Send = %v, want the 307 as an error", errs)
	}
	if got := len(other.requests()); got != 0 {
		t.Errorf("the redirect target got %d requests", got)
	}
}

func TestWebhookAbandonedWithinItsBound(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		wantErr bool
	}{
		{name: "accepts and never answers", url: func(t *testing.T) string { return "http://" + silentListener(t) + "/hook" }, wantErr: true},
		{name: "500 whose body never ends", url: func(t *testing.T) string { return stallingServer(t, 500, nil) }, wantErr: true},
		{name: "503 with a Retry-After of an hour", url: func(t *testing.T) string {
			return stallingServer(t, 503, map[string]string{"Retry-After": "3600"})
		}, wantErr: true},
		{name: "200 whose body never ends is delivered", url: func(t *testing.T) string { return stallingServer(t, 200, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, Config{Webhooks: []Webhook{{Name: "slow", URL: tt.url(t), Timeout: timeout, Retries: intp(2)}}}, Options{})
			errs := sendWithin(t, 5*timeout, n, sampleEvent(KindAbort))
			if !tt.wantErr {
				if len(errs) > 0 {
					t.Fatalf("Send: %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("Send = %v, want one error", errs)
			}
			if !errors.Is(errs[0], ErrTimeout) || !strings.Contains(errs[0].Error(), `webhook "slow"`) {
				t.Errorf("error %q: want a timeout naming the webhook", errs[0])
			}
		})
	}
}

func TestSendIsParallel(t *testing.T) {
	// Each server answers only once all three requests have arrived, so a
	// sequential Send would time out.
	const targets = 3
	var arrived sync.WaitGroup
	arrived.Add(targets)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var hooks []Webhook
	for i := range targets {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived.Done()
			select {
			case <-all:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		hooks = append(hooks, Webhook{Name: string(rune('a' + i)), URL: srv.URL, Timeout: 5 * time.Second, Retries: intp(0)})
	}
	n := mustNew(t, Config{Webhooks: hooks}, Options{})
	if errs := sendWithin(t, 20*time.Second, n, sampleEvent(KindStart)); len(errs) > 0 {
		t.Fatalf("Send: %v", errs)
	}
}

func TestOnFilters(t *testing.T) {
	out := t.TempDir() + "/ran"
	every := newRecorder(t)
	ends := newRecorder(t)
	n := mustNew(t, Config{
		Webhooks: []Webhook{
			{Name: "every", URL: every.srv.URL},
			{Name: "ends", URL: ends.srv.URL, On: []Kind{KindFinish, KindFailure, KindRollback}},
		},
		Commands: []Command{{Name: "starts", Argv: script(t, `echo "$DEPLOYCTL_KIND" >> "$1"`, out), On: []Kind{KindStart}}},
	}, Options{})
	tests := []struct {
		kind               Kind
		every, ends, start int // cumulative counts after this kind
	}{
		{KindStart, 1, 0, 1},
		{KindFinish, 2, 1, 1},
		{KindFailure, 3, 2, 1},
		{KindRollback, 4, 3, 1},
		{KindAbort, 5, 3, 1},
		{KindStart, 6, 3, 2},
	}
	for _, tt := range tests {
		if errs := n.Send(t.Context(), sampleEvent(tt.kind)); len(errs) > 0 {
			t.Fatalf("Send(%s): %v", tt.kind, errs)
		}
		ran := strings.Count(readOrEmpty(t, out), "start\n")
		if got := []int{len(every.requests()), len(ends.requests()), ran}; !reflect.DeepEqual(got, []int{tt.every, tt.ends, tt.start}) {
			t.Errorf("after %s: every, ends, starts = %v, want %v", tt.kind, got, []int{tt.every, tt.ends, tt.start})
		}
	}
}
