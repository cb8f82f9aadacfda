package notify

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestEventJSON(t *testing.T) {
	tests := []struct {
		name     string
		ev       Event
		keys     []string // every key, sorted
		duration any      // the "duration" value, nil when absent
	}{
		{
			name: "every field",
			ev:   sampleEvent(KindFinish),
			keys: []string{"app", "config_version", "deploy_host", "duration", "env", "failed_host", "finished", "hosts_changed",
				"hosts_left_depooled", "kind", "outcome", "previous_rev", "reason", "ref", "rev", "rollout_id", "started", "user"},
			duration: "1m30s",
		},
		{
			name: "zero times and no hosts",
			ev:   Event{Kind: KindStart, App: "a"},
			keys: []string{"app", "config_version", "deploy_host", "env", "failed_host", "hosts_changed",
				"hosts_left_depooled", "kind", "outcome", "previous_rev", "reason", "ref", "rev", "rollout_id", "user"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("keys %v, want %v\n%s", keys, tt.keys, data)
			}
			if m["duration"] != tt.duration {
				t.Errorf("duration = %v, want %v", m["duration"], tt.duration)
			}
			if hc, ok := m["hosts_changed"].([]any); !ok || len(hc) != len(tt.ev.HostsChanged) {
				t.Errorf("hosts_changed = %#v", m["hosts_changed"])
			}
			var back Event
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.ev
			if want.HostsChanged == nil {
				want.HostsChanged, want.HostsLeftDepooled = []string{}, []string{}
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip: %+v, want %+v", back, want)
			}
		})
	}
	var bad Event
	if err := json.Unmarshal([]byte(`{"kind":"start","duration":"soon"}`), &bad); err == nil {
		t.Error("a bad duration decoded")
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds() {
		if !k.Valid() {
			t.Errorf("%q not valid", k)
		}
	}
	for _, k := range []Kind{"", "Start", "success", "deploy"} {
		if k.Valid() {
			t.Errorf("%q valid", k)
		}
	}
}
