package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNothingToSend(t *testing.T) {
	var nilNotifier *Notifier
	empty := mustNew(t, Config{}, Options{})
	rec := newRecorder(t)
	onlyStart := mustNew(t, Config{Webhooks: []Webhook{{URL: rec.srv.URL, On: []Kind{KindStart}}}}, Options{})
	tests := []struct {
		name string
		n    *Notifier
		ev   Event
		want string // "" for no error
	}{
		{name: "nil notifier", n: nilNotifier, ev: sampleEvent(KindStart)},
		{name: "nil notifier, bad kind", n: nilNotifier, ev: Event{Kind: "bogus"}},
		{name: "empty config", n: empty, ev: sampleEvent(KindFinish)},
		{name: "no target wants the kind", n: onlyStart, ev: sampleEvent(KindFinish)},
		{name: "unknown kind", n: onlyStart, ev: Event{Kind: "bogus"}, want: `unknown event kind "bogus"`},
		{name: "empty kind", n: onlyStart, ev: Event{}, want: `unknown event kind ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.n.Send(t.Context(), tt.ev)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("Send: %v", errs)
			case tt.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want)):
				t.Errorf("Send = %v, want %q", errs, tt.want)
			}
		})
	}
	if got := len(rec.requests()); got != 0 {
		t.Errorf("%d requests, want none", got)
	}
	if s := nilNotifier.String(); s != "notify: no targets" {
		t.Errorf("String() = %q", s)
	}
	if s := onlyStart.String(); !strings.Contains(s, `webhook "127.0.0.1:`) {
		t.Errorf("String() = %q", s)
	}
}

func TestSendCancelled(t *testing.T) {
	n := mustNew(t, Config{Webhooks: []Webhook{{Name: "w", URL: "http://" + silentListener(t), Timeout: time.Minute}}}, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	errs := sendCtxWithin(t, ctx, 10*time.Second, n, sampleEvent(KindAbort))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `webhook "w": cancelled`) || errors.Is(errs[0], ErrTimeout) {
		t.Fatalf("Send = %v, want the webhook cancelled", errs)
	}
}

// TestSendAbandonsWhatIgnoresItsBound uses targets that misbehave as no
// real one should (one ignores its context, one panics): Send still
// returns within its bound and reports both.
func TestSendAbandonsWhatIgnoresItsBound(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	n := &Notifier{log: mustNew(t, Config{}, Options{}).log, targets: []*target{
		{label: `webhook "stuck"`, timeout: 200 * time.Millisecond, scrub: newScrubber("", ""),
			deliver: func(context.Context, Event, []byte) error { <-release; return nil }},
		{label: `command "panics"`, timeout: 200 * time.Millisecond, scrub: newScrubber("", ""),
			deliver: func(context.Context, Event, []byte) error { panic("boom") }},
		{label: `command "fine"`, timeout: 200 * time.Millisecond, scrub: newScrubber("", ""),
			deliver: func(context.Context, Event, []byte) error { return nil }},
	}}
	errs := sendWithin(t, 5*(200*time.Millisecond+sendMargin), n, sampleEvent(KindStart))
	if len(errs) != 2 {
		t.Fatalf("Send = %q, want two errors", errText(errs))
	}
	if !errors.Is(errs[0], ErrTimeout) || !strings.Contains(errs[0].Error(), `webhook "stuck": abandoned`) {
		t.Errorf("first error %q: want the stuck target abandoned", errs[0])
	}
	if !strings.Contains(errs[1].Error(), `command "panics": internal error`) || errors.Is(errs[1], ErrTimeout) {
		t.Errorf("second error %q: want the panic reported", errs[1])
	}
}
