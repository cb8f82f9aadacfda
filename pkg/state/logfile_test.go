package state

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 15, 0, 0, time.FixedZone("CET", 3600))
	id := NewID(at)
	if !regexp.MustCompile(`^20261125T091500Z-[0-9a-f]{4}$`).MatchString(id) {
		t.Errorf("NewID = %q, want 20261125T091500Z-xxxx (UTC)", id)
	}
	if later := NewID(at.Add(time.Second)); later <= id {
		t.Errorf("IDs do not sort by time: %q then %q", id, later)
	}
	seen := map[string]bool{}
	for range 8 {
		seen[NewID(at)] = true
	}
	if len(seen) < 2 {
		t.Errorf("8 IDs for the same second are all %v", seen)
	}
	if err := checkName("rollout id", id); err != nil {
		t.Errorf("NewID is not a valid file name: %v", err)
	}
}

func TestLogFile(t *testing.T) {
	s := openStore(t)
	id := NewID(time.Now())
	for _, line := range []string{"first\n", "second\n"} { // reopening appends
		w, err := s.LogFile("prod", id)
		if err != nil {
			t.Fatal(err)
		}
		f := w.(*os.File)
		if f.Name() != s.LogPath("prod", id) {
			t.Errorf("LogFile at %s, LogPath says %s", f.Name(), s.LogPath("prod", id))
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := s.LogPath("prod", id)
	if want := filepath.Join(s.Dir(), "envs", "prod", "logs", id+".log"); path != want {
		t.Errorf("LogPath = %s, want %s", path, want)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "first\nsecond\n" {
		t.Errorf("log = %q, %v", data, err)
	}
	checkPrivate(t, path)
	checkPrivate(t, filepath.Dir(path))
	if _, err := s.LogFile("prod", "../escape"); !errors.Is(err, ErrBadName) {
		t.Errorf("LogFile with a bad id: %v, want ErrBadName", err)
	}
}
