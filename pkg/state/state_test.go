package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleState() State {
	at := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	return State{
		LastGood: Good{Rev: strings.Repeat("a", 40), Ref: "v2", ConfigVersion: "c2", RolloutID: "20261125T101500Z-0001", At: at},
		Previous: Good{Rev: strings.Repeat("b", 40), Ref: "v1", At: at.Add(-time.Hour)},
		Current: &Rollout{
			ID: "20261125T111500Z-0002", Kind: KindBoth, Ref: "v3", Rev: strings.Repeat("c", 40), ConfigVersion: "c3",
			Started: at.Add(time.Hour), By: Owner{PID: 42, Host: "deploy1", User: "alice", Command: "rollout v3", Time: at.Add(time.Hour)},
			Phase: "promote", Host: "h2", Step: "depool",
			ChangedHosts: []string{"h1", "h2"},
			Hosts:        map[string]HostRun{"h1": {Rev: strings.Repeat("c", 40), Result: ResultDone}, "h2": {Rev: strings.Repeat("c", 40)}},
		},
		Hosts: map[string]HostRev{"h1": {Rev: strings.Repeat("c", 40), ConfigVersion: "c3", At: at}},
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	s := openStore(t)
	st, err := s.Load("prod")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, State{}) {
		t.Errorf("Load of a new environment = %+v, want empty", st)
	}
	if _, err := st.Good(); !errors.Is(err, ErrNoState) {
		t.Errorf("Good() of an empty state: %v, want ErrNoState", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		state State
	}{
		{"empty", State{}},
		{"last good only", State{LastGood: Good{Rev: strings.Repeat("a", 40), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"rollout in progress", sampleState()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			if err := s.Save("prod", tt.state); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load("prod")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.state) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.state)
			}
			dir := filepath.Join(s.Dir(), "envs", "prod")
			checkPrivate(t, filepath.Join(dir, "state.json"))
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temp file left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestLoadCorrupt(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"not json", "hello"},
		{"truncated", `{"last_good": {"rev": "aaa`},
		{"wrong type", `{"last_good": "v2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			path := filepath.Join(s.Dir(), "envs", "prod", "state.json")
			writeRaw(t, path, tt.content)
			_, err := s.Load("prod")
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming %s", err, path)
			}
		})
	}
}

func TestSaveFailureLeavesNoTemp(t *testing.T) {
	s := openStore(t)
	dir := filepath.Join(s.Dir(), "envs", "prod")
	// A directory where state.json should be: the rename fails.
	if err := os.MkdirAll(filepath.Join(dir, "state.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("prod", sampleState()); err == nil {
		t.Fatal("Save over a directory succeeded")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("entries after a failed Save: %v, want only state.json", ents)
	}
}

// A reader never sees a partial state.json while a writer keeps saving
// states of different sizes.
func TestSaveAtomicUnderConcurrentReads(t *testing.T) {
	s := openStore(t)
	if err := s.Save("prod", State{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), "envs", "prod", "state.json")
	const saves = 200
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range saves {
			st := sampleState()
			for j := range i % 40 {
				st.Current.MarkChanged(fmt.Sprintf("host-%03d.example.org", j))
			}
			if err := s.Save("prod", st); err != nil {
				t.Errorf("save %d: %v", i, err)
				return
			}
		}
	}()
	reads := 0
	for reading := true; reading && reads < 1_000_000; reads++ {
		select {
		case <-done:
			reading = false
		default:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if !json.Valid(data) {
			t.Fatalf("read %d saw a partial file (%d bytes)", reads, len(data))
		}
		if _, err := s.Load("prod"); err != nil {
			t.Fatalf("load %d: %v", reads, err)
		}
	}
	wg.Wait()
	st, err := s.Load("prod")
	if err != nil {
		t.Fatal(err)
	}
	want := len(sampleState().Current.ChangedHosts) + (saves-1)%40
	if got := len(st.Current.ChangedHosts); got != want {
		t.Errorf("final state has %d changed hosts, want %d (the last save)", got, want)
	}
}

func TestSetLastGood(t *testing.T) {
	v1 := Good{Rev: "r1", ConfigVersion: "c1"}
	v2 := Good{Rev: "r2", ConfigVersion: "c1"}
	v2c := Good{Rev: "r2", ConfigVersion: "c2"}
	tests := []struct {
		name         string
		start        State
		set          Good
		wantLast     Good
		wantPrevious Good
	}{
		{"first", State{}, v1, v1, Good{}},
		{"new rev", State{LastGood: v1}, v2, v2, v1},
		{"new config", State{LastGood: v2, Previous: v1}, v2c, v2c, v2},
		{"same again keeps previous", State{LastGood: v2, Previous: v1}, v2, v2, v1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.start
			st.SetLastGood(tt.set)
			if !reflect.DeepEqual(st.LastGood, tt.wantLast) || !reflect.DeepEqual(st.Previous, tt.wantPrevious) {
				t.Errorf("last %+v previous %+v; want %+v, %+v", st.LastGood, st.Previous, tt.wantLast, tt.wantPrevious)
			}
			if g, err := st.Good(); err != nil || !reflect.DeepEqual(g, tt.wantLast) {
				t.Errorf("Good() = %+v, %v", g, err)
			}
		})
	}
}

func TestMarkChangedKeepsOrderOnce(t *testing.T) {
	var r Rollout
	for _, h := range []string{"h3", "h1", "h3", "h2", "h1"} {
		r.MarkChanged(h)
	}
	if want := []string{"h3", "h1", "h2"}; !reflect.DeepEqual(r.ChangedHosts, want) {
		t.Errorf("ChangedHosts = %v, want %v", r.ChangedHosts, want)
	}
}

func TestSetHost(t *testing.T) {
	var st State
	st.SetHost("h1", HostRev{Rev: "r1"})
	st.SetHost("h1", HostRev{Rev: "r2"})
	if len(st.Hosts) != 1 || st.Hosts["h1"].Rev != "r2" {
		t.Errorf("Hosts = %+v, want h1 on r2", st.Hosts)
	}
}

func BenchmarkSave(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	st := sampleState()
	for b.Loop() {
		if err := s.Save("prod", st); err != nil {
			b.Fatal(err)
		}
	}
}
