package state

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func record(id string) Record {
	at := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	return Record{
		ID: id, Env: "prod", Kind: KindCode, Ref: "v2", Rev: strings.Repeat("a", 40), PreviousRev: strings.Repeat("b", 40),
		User: "alice", Host: "deploy1", PID: 42, Started: at, Finished: at.Add(90 * time.Second), Duration: 90 * time.Second,
		Result: ResultRolledBack, FailedHost: "h2", Reason: "checks:pooled: 5xx rate 12% > 1%",
		HostsChanged: []string{"h1", "h2"},
	}
}

func ids(recs []Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestHistory(t *testing.T) {
	s := openStore(t)
	for i := range 5 {
		if err := s.Append("prod", record(fmt.Sprintf("r%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	checkPrivate(t, filepath.Join(s.Dir(), "envs", "prod", "history.jsonl"))
	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"all", 0, []string{"r0", "r1", "r2", "r3", "r4"}},
		{"negative is all", -1, []string{"r0", "r1", "r2", "r3", "r4"}},
		{"last two, newest last", 2, []string{"r3", "r4"}},
		{"more than there are", 10, []string{"r0", "r1", "r2", "r3", "r4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.History("prod", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("History(%d) = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
	recs, _ := s.History("prod", 1)
	if want := record("r4"); !reflect.DeepEqual(recs[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", recs[0], want)
	}
}

func TestHistoryMissingIsEmpty(t *testing.T) {
	s := openStore(t)
	recs, err := s.History("prod", 10)
	if err != nil || len(recs) != 0 {
		t.Errorf("History of a new environment = %v, %v; want empty", recs, err)
	}
}

func TestHistoryToleratesTornLines(t *testing.T) {
	tests := []struct {
		name    string
		garbage string // appended raw after r0 and r1
		want    []string
	}{
		{"torn last line", `{"id":"r2","env":"pr`, []string{"r0", "r1"}},
		{"torn line then a newline", "{\"id\":\"r2\"\n", []string{"r0", "r1"}},
		{"blank lines", "\n\n", []string{"r0", "r1"}},
		{"overlong line", strings.Repeat("x", maxRecordLine+10), []string{"r0", "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			for _, id := range []string{"r0", "r1"} {
				if err := s.Append("prod", record(id)); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(s.Dir(), "envs", "prod", "history.jsonl")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tt.garbage); err != nil {
				t.Fatal(err)
			}
			f.Close()
			recs, err := s.History("prod", 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("History = %v, want %v", got, tt.want)
			}
			// The next record is not swallowed by the torn line.
			if err := s.Append("prod", record("r3")); err != nil {
				t.Fatal(err)
			}
			recs, err = s.History("prod", 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(recs), append(tt.want, "r3"); !reflect.DeepEqual(got, want) {
				t.Errorf("History after Append = %v, want %v", got, want)
			}
		})
	}
}

func TestAppendConcurrent(t *testing.T) {
	s := openStore(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Append("prod", record(fmt.Sprintf("w%d-%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	recs, err := s.History("prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != writers*each {
		t.Errorf("%d records, want %d", len(recs), writers*each)
	}
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	rec := record("r")
	for b.Loop() {
		if err := s.Append("prod", rec); err != nil {
			b.Fatal(err)
		}
	}
}
