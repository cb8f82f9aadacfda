package release_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestStage(t *testing.T) {
	ctx := context.Background()
	l := layout(t)
	r := &sshx.Local{Name: "local"}
	tree := weirdTree()
	stream := tarOf(t, tree)
	var calls atomic.Int64

	res, err := release.Stage(ctx, r, l, revA, archiveOf(stream, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Bytes != int64(len(stream)) || res.Host != "local" || res.Counts.Files != 15 {
		t.Fatalf("first staging: %+v (stream %d bytes)", res, len(stream))
	}
	assertTree(t, l.Release(revA), tree)
	if exists(l.Partial(revA)) {
		t.Fatal(".partial left behind")
	}
	for _, p := range []string{"pwned", "pwned2"} {
		if exists(filepath.Join(l.Release(revA), p)) || exists(p) {
			t.Fatalf("a file name was run as a command: %s exists", p)
		}
	}
	marker, err := os.ReadFile(filepath.Join(l.Release(revA), release.MarkerName))
	if err != nil || string(marker) != revA+"\n" {
		t.Fatalf("marker %q, %v; want the rev alone", marker, err)
	}
	manifest, err := os.ReadFile(filepath.Join(l.Release(revA), release.ManifestName))
	if err != nil || !strings.HasPrefix(string(manifest), "files=15\nbytes=") || !strings.Contains(string(manifest), "tar_sha256=") {
		t.Fatalf("manifest %q, %v", manifest, err)
	}

	// Staged and intact: nothing is sent, the archive is not even made.
	res, err = release.Stage(ctx, r, l, revA, archiveOf(stream, &calls))
	if err != nil || !res.Skipped || res.Bytes != 0 || calls.Load() != 1 {
		t.Fatalf("second staging: %+v, %v, archive calls %d", res, err, calls.Load())
	}
}

func TestStageRecovers(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	tree := weirdTree()
	stream := tarOf(t, tree)
	tests := []struct {
		name        string
		setup       func(t *testing.T, l release.Layout)
		wantReplace bool
	}{
		{"half-written partial from a crash", func(t *testing.T, l release.Layout) {
			mkdirs(t, filepath.Join(l.Partial(revA), "ro/sub"))
			write(t, filepath.Join(l.Partial(revA), "ro/sub/junk"), "junk")
			// A read-only directory, as a release may ship, must not
			// make the cleanup fail.
			if err := os.Chmod(filepath.Join(l.Partial(revA), "ro"), 0o555); err != nil {
				t.Fatal(err)
			}
		}, false},
		// Not empty, it would be adopted (see adopt_test.go); empty, it
		// holds nothing to keep.
		{"empty release without marker", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(revA))
		}, true},
		{"file deleted after staging", func(t *testing.T, l release.Layout) {
			if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(l.Release(revA), "README")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"file truncated after staging", func(t *testing.T, l release.Layout) {
			if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(l.Release(revA), "README"), "")
		}, true},
		{"marker for another rev", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(revA))
			write(t, filepath.Join(l.Release(revA), release.MarkerName), revB+"\n")
		}, true},
		{"manifest corrupted", func(t *testing.T, l release.Layout) {
			if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(l.Release(revA), release.ManifestName), "files=x\n")
		}, true},
		{"a leftover .old", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(revA))
			mkdirs(t, l.Release(revA)+release.OldSuffix)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			tt.setup(t, l)
			res, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped || (res.Replaced != "") != tt.wantReplace {
				t.Fatalf("result %+v, want replaced=%v", res, tt.wantReplace)
			}
			assertTree(t, l.Release(revA), tree)
			for _, p := range []string{l.Partial(revA), l.Release(revA) + release.OldSuffix} {
				if exists(p) {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
}

func TestStageDamagedCurrentRefused(t *testing.T) {
	ctx := context.Background()
	r := &sshx.Local{}
	l := layout(t)
	stream := tarOf(t, weirdTree())
	if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); err != nil {
		t.Fatal(err)
	}
	if err := release.Activate(ctx, r, l, revA); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(l.Release(revA), "README")); err != nil {
		t.Fatal(err)
	}
	st, err := release.Inspect(ctx, r, l, revA)
	if err != nil || st.State != release.Damaged || !st.Current {
		t.Fatalf("inspect: %+v, %v", st, err)
	}
	if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); !errors.Is(err, release.ErrDamagedCurrent) {
		t.Fatalf("err = %v, want ErrDamagedCurrent", err)
	}
	if got, err := release.Current(ctx, r, l); err != nil || got != revA {
		t.Fatalf("current moved: %q, %v", got, err)
	}
}

func TestStageFailureLeavesNoRelease(t *testing.T) {
	ctx := context.Background()
	stream := tarOf(t, weirdTree())
	boom := errors.New("archive broke")
	tests := []struct {
		name    string
		runner  release.Runner
		archive release.Archive
		want    error
	}{
		{"archive fails halfway", &sshx.Local{}, func(ctx context.Context, w io.Writer) error {
			w.Write(stream[:len(stream)/2])
			return boom
		}, boom},
		{"archive is not a tar", &sshx.Local{}, func(ctx context.Context, w io.Writer) error {
			_, err := w.Write([]byte(strings.Repeat("not a tar ", 200)))
			return err
		}, nil},
		{"tree does not match the stream", &tamper{Local: sshx.Local{}}, archiveOf(stream, nil), release.ErrVerify},
		{"member escaping the release", &sshx.Local{}, archiveOf(tarOf(t, []entry{{name: "../escape", mode: 0o644, content: "x"}}), nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			_, err := release.Stage(ctx, tt.runner, l, revA, tt.archive)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if exists(l.Release(revA)) || exists(l.Partial(revA)) {
				t.Fatalf("left %s or its .partial", l.Release(revA))
			}
			if exists(filepath.Join(l.DeployDir, "escape")) {
				t.Fatal("a member escaped the release")
			}
			st, err := release.Inspect(ctx, tt.runner, l, revA)
			if err != nil || st.State != release.Absent {
				t.Fatalf("inspect after failure: %+v, %v", st, err)
			}
		})
	}
}

// tamper deletes a file of the extracted tree just before it is
// verified, like a disk that lost a write.
type tamper struct {
	sshx.Local
}

func (tp *tamper) Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error {
	if argv[0] == "tar" && strings.HasSuffix(argv[2], release.PartialSuffix) {
		_ = os.Remove(filepath.Join(argv[2], "README"))
	}
	return tp.Local.Stream(ctx, stdin, stdout, argv...)
}

func TestStageCancelled(t *testing.T) {
	l := layout(t)
	stream := tarOf(t, weirdTree())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := release.Stage(ctx, &sshx.Local{}, l, revA, func(ctx context.Context, w io.Writer) error {
		if _, err := w.Write(stream[:len(stream)/2]); err != nil {
			return err
		}
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if exists(l.Release(revA)) || exists(l.Partial(revA)) {
		t.Fatal("a cancelled staging left files")
	}
}

func TestStageRejects(t *testing.T) {
	r := &sshx.Local{}
	good := layout(t)
	tests := []struct {
		name string
		l    release.Layout
		rev  string
		want error
	}{
		{"short rev", good, "abc123", release.ErrBadRev},
		{"uppercase rev", good, strings.ToUpper(revA), release.ErrBadRev},
		{"relative deploy dir", release.Layout{DeployDir: "srv", App: "app"}, revA, nil},
		{"app with slash", release.Layout{DeployDir: "/srv", App: "a/b"}, revA, nil},
		{"app dot-dot", release.Layout{DeployDir: "/srv", App: ".."}, revA, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := release.Stage(context.Background(), r, tt.l, tt.rev, archiveOf(nil, nil))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func mkdirs(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
