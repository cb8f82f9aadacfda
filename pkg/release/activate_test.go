package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestActivateAndCurrent(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	l := layout(t)
	stream := tarOf(t, weirdTree())

	if _, err := release.Current(ctx, r, l); !errors.Is(err, release.ErrNoCurrent) {
		t.Fatalf("no current yet: %v, want ErrNoCurrent", err)
	}
	if err := release.Activate(ctx, r, l, revA); !errors.Is(err, release.ErrNotStaged) {
		t.Fatalf("activate unstaged: %v, want ErrNotStaged", err)
	}
	// A .partial is not a release either.
	mkdirs(t, l.Partial(revA))
	if err := release.Activate(ctx, r, l, revA); !errors.Is(err, release.ErrNotStaged) {
		t.Fatalf("activate partial: %v, want ErrNotStaged", err)
	}
	for _, rev := range []string{revA, revB} {
		if _, err := release.Stage(ctx, r, l, rev, archiveOf(stream, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for _, rev := range []string{revA, revB, revA} {
		if err := release.Activate(ctx, r, l, rev); err != nil {
			t.Fatal(err)
		}
		got, err := release.Current(ctx, r, l)
		if err != nil || got != rev {
			t.Fatalf("current = %q, %v; want %s", got, err, rev)
		}
		link, err := os.Readlink(l.Current())
		if err != nil || link != "revs/"+rev {
			t.Fatalf("current -> %q, %v; want a relative link to revs/%s", link, err, rev)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(l.Base(), ".current.tmp.*")); len(tmp) > 0 {
		t.Fatalf("temporary links left: %v", tmp)
	}
}

// TestFleetMarker: the example fleet lays out its first release with a
// marker holding only the rev; that must read as staged and current.
func TestFleetMarker(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	l := layout(t)
	mkdirs(t, l.Release(revC))
	write(t, filepath.Join(l.Release(revC), release.MarkerName), revC+"\n")
	write(t, filepath.Join(l.Release(revC), "server.js"), "console.log(1)\n")
	if err := os.Symlink("revs/"+revC, l.Current()); err != nil {
		t.Fatal(err)
	}
	st, err := release.Inspect(ctx, r, l, revC)
	if err != nil || st.State != release.Staged || !st.Current {
		t.Fatalf("inspect: %+v, %v", st, err)
	}
	if got, err := release.Current(ctx, r, l); err != nil || got != revC {
		t.Fatalf("current: %q, %v", got, err)
	}
	var calls atomic.Int64
	if res, err := release.Stage(ctx, r, l, revC, archiveOf(nil, &calls)); err != nil || !res.Skipped || calls.Load() != 0 {
		t.Fatalf("stage over the fleet's release: %+v, %v", res, err)
	}
}

func TestCurrentErrors(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	tests := []struct {
		name  string
		setup func(t *testing.T, l release.Layout)
		want  error
	}{
		{"not a symlink", func(t *testing.T, l release.Layout) { mkdirs(t, l.Current()) }, nil},
		{"points elsewhere", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Base())
			if err := os.Symlink("/tmp", l.Current()); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"empty release without marker", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(revA))
			if err := os.Symlink("revs/"+revA, l.Current()); err != nil {
				t.Fatal(err)
			}
		}, release.ErrVerify},
		{"marker for another rev", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(revA))
			write(t, filepath.Join(l.Release(revA), release.MarkerName), revB+"\n")
			if err := os.Symlink("revs/"+revA, l.Current()); err != nil {
				t.Fatal(err)
			}
		}, release.ErrVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			tt.setup(t, l)
			_, err := release.Current(ctx, r, l)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCurrentNeverMissing switches current back and forth while readers
// loop on it; not one read may find it missing or dangling. (The same
// readers against a switch done as rm + ln find current missing in about
// 40% of reads, so the check has teeth.)
func TestCurrentNeverMissing(t *testing.T) {
	r := &sshx.Local{}
	testCurrentNeverMissing(t, r, layout(t), 100)
}

func testCurrentNeverMissing(t *testing.T, r release.Runner, l release.Layout, switches int) {
	ctx := context.Background()
	stream := tarOf(t, weirdTree())
	for _, rev := range []string{revA, revB} {
		if _, err := release.Stage(ctx, r, l, rev, archiveOf(stream, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := release.Activate(ctx, r, l, revA); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads, misses atomic.Int64
	seen := map[string]*atomic.Int64{revA: {}, revB: {}}
	var wg sync.WaitGroup
	marker := filepath.Join(l.Current(), release.MarkerName)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(marker)
				reads.Add(1)
				if err != nil || len(b) < 40 {
					misses.Add(1)
					continue
				}
				if c := seen[string(b[:40])]; c != nil {
					c.Add(1)
				}
			}
		})
	}
	for i := range switches {
		rev := []string{revB, revA}[i%2]
		if err := release.Activate(ctx, r, l, rev); err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	if misses.Load() != 0 {
		t.Fatalf("%d of %d reads found current missing", misses.Load(), reads.Load())
	}
	if seen[revA].Load() == 0 || seen[revB].Load() == 0 {
		t.Fatalf("readers saw %d reads of A and %d of B: they did not overlap the switches", seen[revA].Load(), seen[revB].Load())
	}
	t.Logf("%d switches, %d reads, none missing", switches, reads.Load())
}
