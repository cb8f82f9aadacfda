package state

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// receive waits (boundedly) for the watch channel to deliver or close.
func receive(t *testing.T, ch <-chan Owner) (Owner, bool) {
	t.Helper()
	select {
	case o, ok := <-ch:
		return o, ok
	case <-time.After(30 * time.Second):
		t.Fatal("WatchAbort neither delivered nor closed")
		return Owner{}, false
	}
}

func TestAbortRequest(t *testing.T) {
	s := openStore(t)
	if o, ok := s.AbortRequested("prod"); ok || o != nil {
		t.Fatalf("AbortRequested on a new environment = %+v, %v", o, ok)
	}
	if err := s.RequestAbort("prod", Owner{Command: "abort", Message: "bad canary"}); err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, filepath.Join(s.Dir(), "envs", "prod", "abort"))
	o, ok := s.AbortRequested("prod")
	if !ok || o == nil || o.Message != "bad canary" || o.PID == 0 || o.Time.IsZero() {
		t.Fatalf("AbortRequested = %+v, %v; want the filled-in request", o, ok)
	}
	if err := s.ClearAbort("prod"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.AbortRequested("prod"); ok {
		t.Error("abort still requested after ClearAbort")
	}
	if err := s.ClearAbort("prod"); err != nil {
		t.Errorf("second ClearAbort: %v", err)
	}
}

func TestAbortRequestUnreadableStillCounts(t *testing.T) {
	s := openStore(t)
	writeRaw(t, filepath.Join(s.Dir(), "envs", "prod", "abort"), "{torn")
	if o, ok := s.AbortRequested("prod"); !ok || o == nil {
		t.Errorf("AbortRequested = %+v, %v; want requested", o, ok)
	}
}

func TestWatchAbort(t *testing.T) {
	tests := []struct {
		name    string
		before  bool // request before the watch starts
		during  bool // request while it watches
		deliver bool
	}{
		{name: "request while watching", during: true, deliver: true},
		{name: "request already pending", before: true, deliver: true},
		{name: "no request, context ends"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.before {
				if err := s.RequestAbort("prod", Owner{Command: "abort"}); err != nil {
					t.Fatal(err)
				}
			}
			ch := s.WatchAbort(ctx, "prod", 10*time.Millisecond)
			if tt.during {
				if err := s.RequestAbort("prod", Owner{Command: "abort"}); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.deliver {
				cancel()
			}
			o, ok := receive(t, ch)
			if ok != tt.deliver {
				t.Fatalf("delivered = %v, want %v", ok, tt.deliver)
			}
			if tt.deliver && o.Command != "abort" {
				t.Errorf("delivered %+v, want the abort request", o)
			}
			if tt.deliver {
				// Once only: the channel closes after the delivery, even
				// with the request still pending and ctx alive.
				if o, ok := receive(t, ch); ok {
					t.Errorf("second delivery %+v", o)
				}
			}
		})
	}
}

func TestAbortPollInterval(t *testing.T) {
	tests := []struct {
		name     string
		in, want time.Duration
	}{
		{"zero is the default", 0, DefaultAbortPoll},
		{"negative is the minimum", -time.Second, MinAbortPoll},
		{"too small", time.Millisecond, MinAbortPoll},
		{"too large", time.Hour, MaxAbortPoll},
		{"in range", 250 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := abortPoll(tt.in); got != tt.want {
				t.Errorf("abortPoll(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
