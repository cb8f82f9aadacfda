package main

import (
	"path/filepath"
	"testing"

	"github.com/deployctl/deployctl/inventory"
)

// The default state dir is per machine, shared by every operator of the
// deploy host; a per-user dir only when asked.
func TestStateDir(t *testing.T) {
	proj := &inventory.Project{}
	for _, tc := range []struct {
		name       string
		flag       string
		configured string
		want       string
		shared     bool
	}{
		{"default", "", "", DefaultStateDir, true},
		{"--state-dir", "/home/ada/state", "", "/home/ada/state", false},
		{"state_dir in config", "", "/srv/deployctl-state", "/srv/deployctl-state", false},
		{"--state-dir wins", "/tmp/x", "/srv/deployctl-state", "/tmp/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &GlobalOptions{StateDir: tc.flag}
			env := &inventory.Env{Name: "prod", Project: proj, Config: inventory.Config{StateDir: tc.configured}}
			dir, shared, err := g.stateDir(env)
			if err != nil || filepath.Clean(dir) != tc.want || shared != tc.shared {
				t.Errorf("stateDir = %q shared %v (%v), want %q shared %v", dir, shared, err, tc.want, tc.shared)
			}
		})
	}
}
