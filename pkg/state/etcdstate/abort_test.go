package etcdstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/state"
)

// receive waits (boundedly) for the watch channel to deliver or close.
func receive(t *testing.T, ch <-chan state.Owner) (state.Owner, bool) {
	t.Helper()
	select {
	case o, ok := <-ch:
		return o, ok
	case <-time.After(bound):
		t.Fatal("WatchAbort neither delivered nor closed")
		return state.Owner{}, false
	}
}

// TestAbortRoundTrip: an operator on one host asks; the rollout on
// another host, watching, sees who asked; the request stays until
// cleared.
func TestAbortRoundTrip(t *testing.T) {
	e := startEtcd(t)
	runner, operator := open(t, e), open(t, e)
	if o, ok := runner.AbortRequested("prod"); ok || o != nil {
		t.Fatalf("AbortRequested on a new environment = %+v, %v", o, ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := runner.WatchAbort(ctx, "prod", 20*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // a few empty looks
	if err := operator.RequestAbort("prod", state.Owner{User: "carol", Command: "abort", Message: "bad canary"}); err != nil {
		t.Fatal(err)
	}
	by, ok := receive(t, watch)
	if !ok || by.User != "carol" || by.Message != "bad canary" || by.PID == 0 || by.Time.IsZero() {
		t.Fatalf("WatchAbort delivered %+v, %v; want carol's filled-in request", by, ok)
	}
	if _, ok := receive(t, watch); ok {
		t.Error("WatchAbort delivered twice")
	}
	if o, ok := runner.AbortRequested("prod"); !ok || o.User != "carol" {
		t.Errorf("AbortRequested = %+v, %v", o, ok)
	}
	if err := runner.ClearAbort("prod"); err != nil {
		t.Fatal(err)
	}
	if _, ok := operator.AbortRequested("prod"); ok {
		t.Error("abort still requested after ClearAbort")
	}
	if err := runner.ClearAbort("prod"); err != nil {
		t.Errorf("second ClearAbort: %v", err)
	}

	e.put(t, "/deployctl/prod/abort", "{torn")
	if o, ok := runner.AbortRequested("prod"); !ok || o == nil {
		t.Errorf("an undecodable request = %+v, %v; want requested", o, ok)
	}
	runner.ClearAbort("prod")

	wctx, wcancel := context.WithCancel(context.Background())
	watch = runner.WatchAbort(wctx, "prod", time.Hour) // kept to MaxAbortPoll
	wcancel()
	if by, ok := receive(t, watch); ok {
		t.Errorf("WatchAbort after its context ended delivered %+v", by)
	}
}
