package release_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestPrune(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	revs := make([]string, 6) // oldest first
	for i := range revs {
		revs[i] = fmt.Sprintf("%040x", i+1)
	}
	tests := []struct {
		name    string
		keep    int
		current string
		protect []string
		want    []string // releases left, sorted
	}{
		{"keep newest two, current and last good", 2, revs[0], []string{revs[1]}, []string{revs[0], revs[1], revs[4], revs[5]}},
		{"current among the newest", 3, revs[5], nil, []string{revs[3], revs[4], revs[5]}},
		{"keep more than there are", 10, revs[2], nil, revs},
		{"keep one, protect two", 1, revs[5], []string{revs[0], revs[2], ""}, []string{revs[0], revs[2], revs[5]}},
	}
	stream := tarOf(t, []entry{{name: "f", mode: 0o644, content: "x"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			base := time.Now().Add(-time.Hour)
			for i, rev := range revs {
				if _, err := release.Stage(ctx, r, l, rev, archiveOf(stream, nil)); err != nil {
					t.Fatal(err)
				}
				at := base.Add(time.Duration(i) * time.Minute)
				if err := os.Chtimes(filepath.Join(l.Release(rev), release.MarkerName), at, at); err != nil {
					t.Fatal(err)
				}
			}
			if err := release.Activate(ctx, r, l, tt.current); err != nil {
				t.Fatal(err)
			}
			mkdirs(t, l.Partial(revs[5])+"/x")
			mkdirs(t, l.Release(revs[4])+release.OldSuffix)
			mkdirs(t, filepath.Join(l.Base(), "revs", "notes")) // not ours: left alone

			removed, err := release.Prune(ctx, r, l, tt.keep, tt.protect...)
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(filepath.Join(l.Base(), "revs"))
			var left []string
			for _, e := range entries {
				if e.Name() != "notes" {
					left = append(left, e.Name())
				}
			}
			if !slices.Equal(left, tt.want) {
				t.Fatalf("left %v, want %v (removed %v)", left, tt.want, removed)
			}
			if !exists(filepath.Join(l.Base(), "revs", "notes")) {
				t.Fatal("prune removed a directory that is not deployctl's")
			}
			if got, err := release.Current(ctx, r, l); err != nil || got != tt.current {
				t.Fatalf("current after prune: %q, %v", got, err)
			}
		})
	}
}

func TestPruneRejects(t *testing.T) {
	l := layout(t)
	if _, err := release.Prune(context.Background(), &sshx.Local{}, l, 0); !errors.Is(err, release.ErrKeep) {
		t.Fatalf("keep 0: %v", err)
	}
	// Nothing deployed yet: nothing to do, no error.
	if removed, err := release.Prune(context.Background(), &sshx.Local{}, l, 3); err != nil || len(removed) != 0 {
		t.Fatalf("empty: %v, %v", removed, err)
	}
}
