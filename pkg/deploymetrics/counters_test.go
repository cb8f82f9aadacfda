package deploymetrics_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
)

// finish is one Counters.Finish call.
type finish struct {
	outcome      string
	duration     time.Duration
	hosts        int
	rolledBack   bool
	rev, config  string
	at           time.Time
	startedFirst bool // call Start before Finish
}

func (f finish) apply(c *deploymetrics.Counters) {
	if f.startedFirst {
		c.Start()
	}
	c.Finish(f.outcome, f.duration, f.hosts, f.rolledBack, f.rev, f.config, f.at)
}

func TestCountersTransitions(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name  string
		start deploymetrics.Counters
		steps []finish
		want  deploymetrics.Counters
	}{
		{
			name: "first success from zero",
			steps: []finish{
				{outcome: "done", duration: 42 * time.Second, hosts: 3, rev: "aaa", config: "c1", at: t0, startedFirst: true},
			},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Done: 1}, HostsChanged: 3, LastHostsChanged: 3,
				LastSuccess: t0, LastDuration: 42 * time.Second, Rev: "aaa", ConfigVersion: "c1",
			},
		},
		{
			name: "success then rolled back to last good",
			steps: []finish{
				{outcome: "done", duration: 40 * time.Second, hosts: 3, rev: "aaa", config: "c1", at: t0},
				{outcome: "rolled-back", duration: 17 * time.Second, hosts: 2, rolledBack: true, rev: "aaa", config: "c1", at: t1},
			},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Done: 1, RolledBack: 1}, Rollbacks: 1, HostsChanged: 5, LastHostsChanged: 2,
				LastSuccess: t0, LastDuration: 17 * time.Second, Rev: "aaa", ConfigVersion: "c1",
			},
		},
		{
			name:  "rolled-back outcome counts a rollback even without the flag; empty rev keeps the old",
			start: deploymetrics.Counters{Rev: "old", ConfigVersion: "c0"},
			steps: []finish{{outcome: "rolled-back", duration: time.Second, hosts: 1, at: t1}},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{RolledBack: 1}, Rollbacks: 1, HostsChanged: 1, LastHostsChanged: 1,
				LastDuration: time.Second, Rev: "old", ConfigVersion: "c0",
			},
		},
		{
			name: "interrupted with a rollback by abort",
			steps: []finish{
				{outcome: "interrupted", duration: 5 * time.Second, hosts: 1, rolledBack: true, at: t1, startedFirst: true},
			},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Interrupted: 1}, Rollbacks: 1, HostsChanged: 1, LastHostsChanged: 1,
				LastDuration: 5 * time.Second,
			},
		},
		{
			name: "rollback-failed and failed",
			steps: []finish{
				{outcome: "rollback-failed", duration: time.Minute, hosts: 4, rolledBack: true, at: t0},
				{outcome: "failed", duration: 2 * time.Second, hosts: 0, at: t1},
			},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{RollbackFailed: 1, Failed: 1}, Rollbacks: 1, HostsChanged: 4,
				LastDuration: 2 * time.Second,
			},
		},
		{
			name: "aborted counts as interrupted, unknown words as failed",
			steps: []finish{
				{outcome: "aborted", rolledBack: true, at: t0},
				{outcome: "exploded", at: t1},
			},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Interrupted: 1, Failed: 1}, Rollbacks: 1,
			},
		},
		{
			name:  "negative hosts and duration count as zero",
			start: deploymetrics.Counters{HostsChanged: 7, LastHostsChanged: 7},
			steps: []finish{{outcome: "failed", duration: -time.Second, hosts: -3, at: t0}},
			want:  deploymetrics.Counters{Rollouts: deploymetrics.RolloutCounts{Failed: 1}, HostsChanged: 7},
		},
		{
			name:  "last success never moves backwards (another deploy host's clock is behind)",
			start: deploymetrics.Counters{LastSuccess: t1, Rollouts: deploymetrics.RolloutCounts{Done: 4}},
			steps: []finish{{outcome: "done", duration: time.Second, hosts: 1, rev: "bbb", at: t0}},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Done: 5}, HostsChanged: 1, LastHostsChanged: 1,
				LastSuccess: t1, LastDuration: time.Second, Rev: "bbb",
			},
		},
		{
			name:  "counters continue from a stored state",
			start: deploymetrics.Counters{Rollouts: deploymetrics.RolloutCounts{Done: 10, Failed: 2}, Rollbacks: 3, HostsChanged: 100},
			steps: []finish{{outcome: "done", duration: time.Second, hosts: 5, rev: "ccc", at: t1}},
			want: deploymetrics.Counters{
				Rollouts: deploymetrics.RolloutCounts{Done: 11, Failed: 2}, Rollbacks: 3, HostsChanged: 105, LastHostsChanged: 5,
				LastSuccess: t1, LastDuration: time.Second, Rev: "ccc",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := roundTrip(t, tt.start) // as the caller reads it from its state
			for _, s := range tt.steps {
				s.apply(&c)
				c = roundTrip(t, c)
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("got  %+v\nwant %+v", c, tt.want)
			}
		})
	}
}

func TestCountersStartFinish(t *testing.T) {
	var c deploymetrics.Counters
	if c.InProgress {
		t.Fatal("zero Counters in progress")
	}
	c.Start()
	if !c.InProgress {
		t.Fatal("Start did not set InProgress")
	}
	c = roundTrip(t, c)
	if !c.InProgress {
		t.Fatal("InProgress lost in JSON")
	}
	before := time.Now()
	c.Finish(deploymetrics.OutcomeDone, time.Second, 1, false, "r", "", time.Time{})
	if c.InProgress {
		t.Fatal("Finish left InProgress")
	}
	if c.LastSuccess.Before(before) || c.LastSuccess.After(time.Now()) {
		t.Errorf("a zero finish time should mean now, got %v", c.LastSuccess)
	}
}

func TestCountersNeverGoBackwards(t *testing.T) {
	// Every sequence of finishes, through JSON each time, only ever adds.
	var c deploymetrics.Counters
	prev := c
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 200; i++ {
		o := deploymetrics.Outcomes()[i%5]
		c.Start()
		c.Finish(o, time.Duration(i)*time.Millisecond, i%4-1, i%3 == 0, "", "", at.Add(time.Duration((i*7)%11-5)*time.Minute))
		c = roundTrip(t, c)
		for _, o := range deploymetrics.Outcomes() {
			if c.Rollouts.Get(o) < prev.Rollouts.Get(o) {
				t.Fatalf("step %d: rollouts{%s} went back", i, o)
			}
		}
		if c.Rollbacks < prev.Rollbacks || c.HostsChanged < prev.HostsChanged || c.LastSuccess.Before(prev.LastSuccess) {
			t.Fatalf("step %d: went back: %+v after %+v", i, c, prev)
		}
		prev = c
	}
}

func TestCountersJSON(t *testing.T) {
	c := deploymetrics.Counters{
		Rollouts: deploymetrics.RolloutCounts{Done: 2, RolledBack: 1}, Rollbacks: 1, HostsChanged: 9, LastHostsChanged: 3,
		LastSuccess: time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC), LastDuration: 1500 * time.Millisecond,
		Rev: "0123456789abcdef", ConfigVersion: "cfg-9", InProgress: true,
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"rollouts":{"done":2,"rolled-back":1},"rollbacks":1,"hosts_changed":9,"last_hosts_changed":3,"last_success":"2026-02-03T04:05:06.000000007Z","last_duration_ns":1500000000,"rev":"0123456789abcdef","config_version":"cfg-9","in_progress":true}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
		t.Errorf("round trip: %+v, want %+v", got, c)
	}
	if b, _ := json.Marshal(deploymetrics.Counters{}); string(b) != "{}" {
		t.Errorf("zero Counters: %s, want {}", b)
	}
}

func TestOutcomes(t *testing.T) {
	want := []string{"done", "rolled-back", "rollback-failed", "interrupted", "failed"}
	if got := deploymetrics.Outcomes(); !reflect.DeepEqual(got, want) {
		t.Errorf("Outcomes() = %v, want %v", got, want)
	}
	for _, o := range want {
		if !deploymetrics.ValidOutcome(o) {
			t.Errorf("ValidOutcome(%q) = false", o)
		}
	}
	for _, o := range []string{"", "aborted", "Done"} {
		if deploymetrics.ValidOutcome(o) {
			t.Errorf("ValidOutcome(%q) = true", o)
		}
	}
	r := deploymetrics.RolloutCounts{Done: 1, RolledBack: 2, RollbackFailed: 3, Interrupted: 4, Failed: 5}
	for i, o := range want {
		if got := r.Get(o); got != uint64(i+1) {
			t.Errorf("Get(%q) = %d, want %d", o, got, i+1)
		}
	}
	if r.Get("aborted") != 0 || r.Total() != 15 {
		t.Errorf("Get(aborted) = %d, Total() = %d", r.Get("aborted"), r.Total())
	}
}

// roundTrip passes c through JSON, as a caller storing it in its state does.
func roundTrip(t *testing.T, c deploymetrics.Counters) deploymetrics.Counters {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out deploymetrics.Counters
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
