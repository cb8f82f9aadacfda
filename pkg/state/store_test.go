package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir() != dir {
		t.Errorf("Dir = %s, want %s", s.Dir(), dir)
	}
	checkPrivate(t, dir)

	file := filepath.Join(t.TempDir(), "file")
	writeRaw(t, file, "x")
	for _, bad := range []string{"", file} {
		if _, err := Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestEnvironmentNames(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	// Every entry point that takes an environment checks its name.
	calls := map[string]func(env string) error{
		"Lock": func(env string) error {
			l, err := s.Lock(ctx, env, Owner{}, NoWait)
			if err == nil {
				l.Release()
			}
			return err
		},
		"Holder":       func(env string) error { _, _, err := s.Holder(env); return err },
		"ForceRelease": func(env string) error { _, err := s.ForceRelease(env); return err },
		"Load":         func(env string) error { _, err := s.Load(env); return err },
		"Save":         func(env string) error { return s.Save(env, State{}) },
		"Append":       func(env string) error { return s.Append(env, Record{}) },
		"History":      func(env string) error { _, err := s.History(env, 0); return err },
		"RequestAbort": func(env string) error { return s.RequestAbort(env, Owner{}) },
		"ClearAbort":   func(env string) error { return s.ClearAbort(env) },
		"LogFile": func(env string) error {
			f, err := s.LogFile(env, NewID(time.Now()))
			if err == nil {
				f.Close()
			}
			return err
		},
	}
	tests := []struct {
		name string
		env  string
		ok   bool
	}{
		{"plain", "production", true},
		{"dashes dots underscores digits", "eu-west.beta_2", true},
		{"empty", "", false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"slash", "a/b", false},
		{"parent", "../x", false},
		{"space", "prod env", false},
		{"non-ascii", "prödüction", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for call, f := range calls {
				err := f(tt.env)
				if tt.ok && err != nil {
					t.Errorf("%s(%q): %v", call, tt.env, err)
				}
				if !tt.ok && !errors.Is(err, ErrBadName) {
					t.Errorf("%s(%q): %v, want ErrBadName", call, tt.env, err)
				}
			}
			if !tt.ok {
				if _, ok := s.AbortRequested(tt.env); ok {
					t.Errorf("AbortRequested(%q) = true", tt.env)
				}
			}
		})
	}
	// Nothing escaped the store's directory.
	ents, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "envs" {
		t.Errorf("store dir holds %v, want only envs", ents)
	}
}
