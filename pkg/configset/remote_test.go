package configset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
)

var _ Runner = (*sshx.Client)(nil)

// localRunner runs argv on this machine the way sshx.Client runs it on a
// host: stdout returned, a non-zero exit an error carrying stderr.
type localRunner struct {
	calls atomic.Int64
}

func (l *localRunner) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	l.calls.Add(1)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// failingRunner fails the calls whose argv contains match, without running
// them, and runs the rest.
type failingRunner struct {
	localRunner
	match string
}

func (f *failingRunner) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	if slices.ContainsFunc(argv, func(a string) bool { return strings.Contains(a, f.match) }) {
		return nil, errors.New("injected failure")
	}
	return f.localRunner.Run(ctx, stdin, argv...)
}

// refusingRunner fails the test when anything is run.
type refusingRunner struct{ t *testing.T }

func (r refusingRunner) Run(context.Context, io.Reader, ...string) ([]byte, error) {
	r.t.Helper()
	r.t.Error("a command ran although the input was refused")
	return nil, errors.New("refused")
}

// needTools skips the test when a tool the host side needs is missing,
// unless CI=true, where that is a failure.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sh", "tar", "sha256sum", "stat", "head", "readlink", "ln", "mv", "rm", "mkdir", "dirname", "touch", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true: %v", tool, err)
			}
			t.Skipf("%s not found: %v", tool, err)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// hostDirs returns a base (<deploy_dir>/<app>) and a directory for the
// links, both fresh.
func hostDirs(t *testing.T) (base, etc string) {
	root := t.TempDir()
	return filepath.Join(root, "deploy", "app"), filepath.Join(root, "etc")
}

func mustSet(t *testing.T, files ...File) *Set {
	t.Helper()
	s, err := NewSet(files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShip(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, etc := hostDirs(t)
	set := mustSet(t,
		File{Name: "app.conf", Path: etc + "/app.conf", Mode: 0o640, Content: []byte("a=1\n")},
		File{Name: "sub/deep/log.yaml", Path: etc + "/log.yaml", Mode: 0o644, Content: []byte("level: info\n")},
		File{Name: "empty", Path: etc + "/empty", Mode: 0o600},
	)
	r := &localRunner{}
	dir := filepath.Join(base, ConfigsDir, set.Version)

	sent, err := Ship(ctx, r, base, set)
	if err != nil {
		t.Fatal(err)
	}
	if sent == 0 {
		t.Fatal("first ship sent 0 bytes")
	}
	for _, f := range set.Files {
		p := filepath.Join(dir, f.Name)
		if got := readFile(t, p); got != string(f.Content) {
			t.Errorf("%s: %q, want %q", p, got, f.Content)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.Mode {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), f.Mode)
		}
	}
	if got := readFile(t, filepath.Join(dir, ManifestName)); versionOf([]byte(got)) != set.Version {
		t.Errorf("manifest %q does not name %s", got, set.Version)
	}

	if sent, err := Ship(ctx, r, base, set); err != nil || sent != 0 {
		t.Errorf("second ship sent %d bytes (%v), want 0", sent, err)
	}

	// A file changed in place is found and the version shipped again.
	if err := os.WriteFile(filepath.Join(dir, "app.conf"), []byte("a=2\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if sent, err := Ship(ctx, r, base, set); err != nil || sent == 0 {
		t.Fatalf("ship over a damaged version sent %d bytes (%v), want a new copy", sent, err)
	}
	if got := readFile(t, filepath.Join(dir, "app.conf")); got != "a=1\n" {
		t.Errorf("repaired app.conf = %q", got)
	}
	// So is a mode changed in place.
	if err := os.Chmod(filepath.Join(dir, "empty"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sent, err := Ship(ctx, r, base, set); err != nil || sent == 0 {
		t.Fatalf("ship over a changed mode sent %d bytes (%v), want a new copy", sent, err)
	}
	assertOnly(t, filepath.Join(base, ConfigsDir), set.Version)
}

// assertOnly fails unless dir holds exactly names.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

func TestShipInterrupted(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, etc := hostDirs(t)
	set := mustSet(t, File{Name: "app.conf", Path: etc + "/app.conf", Mode: 0o644, Content: []byte("x\n")})
	configs := filepath.Join(base, ConfigsDir)
	partial := filepath.Join(configs, set.Version+PartialSuffix)

	// Stopped before the rename: only the .partial is there.
	if _, err := Ship(ctx, &failingRunner{match: "mv -T"}, base, set); err == nil {
		t.Fatal("ship with a failing rename succeeded")
	}
	assertOnly(t, configs, set.Version+PartialSuffix)
	// And it holds junk an older interruption left.
	if err := os.WriteFile(filepath.Join(partial, "junk"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "app.conf"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}

	if sent, err := Ship(ctx, &localRunner{}, base, set); err != nil || sent == 0 {
		t.Fatalf("ship after an interruption: %d bytes, %v", sent, err)
	}
	assertOnly(t, configs, set.Version)
	assertOnly(t, filepath.Join(configs, set.Version), ManifestName, "app.conf")
	if got := readFile(t, filepath.Join(configs, set.Version, "app.conf")); got != "x\n" {
		t.Errorf("app.conf = %q", got)
	}
}

func TestLink(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, etc := hostDirs(t)
	r := &localRunner{}
	if v, err := Current(ctx, r, base); err != nil || v != "" {
		t.Fatalf("Current before any link = %q, %v", v, err)
	}
	v1 := mustSet(t,
		File{Name: "app.conf", Path: etc + "/app/app.conf", Mode: 0o644, Content: []byte("v1\n")},
		File{Name: "old.conf", Path: etc + "/old.conf", Mode: 0o644, Content: []byte("old\n")},
		File{Name: "kept.conf", Path: etc + "/kept.conf", Mode: 0o644, Content: []byte("kept\n")},
	)
	v2 := mustSet(t,
		File{Name: "app.conf", Path: etc + "/app/app.conf", Mode: 0o644, Content: []byte("v2\n")},
		File{Name: "new.conf", Path: etc + "/new/new.conf", Mode: 0o644, Content: []byte("new\n")},
	)

	// Not shipped yet: refused, nothing changed.
	if err := Link(ctx, r, base, v1); err == nil {
		t.Fatal("linking a version that is not on the host succeeded")
	}
	if _, err := os.Lstat(etc); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused link created %s: %v", etc, err)
	}

	for _, s := range []*Set{v1, v2} {
		if _, err := Ship(ctx, r, base, s); err != nil {
			t.Fatal(err)
		}
	}
	// A hand-made file where a link goes is replaced.
	if err := os.MkdirAll(etc+"/app", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(etc+"/app/app.conf", []byte("by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Link(ctx, r, base, v1); err != nil {
		t.Fatal(err)
	}
	assertLinked(t, base, v1)
	if paths, err := CurrentPaths(ctx, r, base); err != nil || len(paths) != 3 {
		t.Errorf("CurrentPaths = %v, %v", paths, err)
	}

	// v2 drops old.conf and kept.conf; kept.conf was replaced by hand
	// meanwhile, so it is not deployctl's to remove.
	if err := os.Remove(etc + "/kept.conf"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(etc+"/kept.conf", []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Link(ctx, r, base, v2); err != nil {
		t.Fatal(err)
	}
	assertLinked(t, base, v2)
	if _, err := os.Lstat(etc + "/old.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old.conf, dropped by v2, is still there: %v", err)
	}
	if got := readFile(t, etc+"/kept.conf"); got != "mine\n" {
		t.Errorf("kept.conf = %q, want the hand-made file left alone", got)
	}

	// Rollback from the manifest on the host alone.
	if err := LinkVersion(ctx, r, base, v1.Version); err != nil {
		t.Fatal(err)
	}
	assertLinked(t, base, v1)
	if _, err := os.Lstat(etc + "/new/new.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("new.conf, which v1 does not have, is still there: %v", err)
	}
	// The same version again changes nothing.
	if err := LinkVersion(ctx, r, base, v1.Version); err != nil {
		t.Fatal(err)
	}
	assertLinked(t, base, v1)
}

// assertLinked checks that every path of set links to its file in the
// set's version and that current names the version.
func assertLinked(t *testing.T, base string, set *Set) {
	t.Helper()
	for _, f := range set.Files {
		target, err := os.Readlink(f.Path)
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		if want := filepath.Join(base, ConfigsDir, set.Version, f.Name); target != want {
			t.Errorf("%s -> %s, want %s", f.Path, target, want)
		}
		if got := readFile(t, f.Path); got != string(f.Content) {
			t.Errorf("%s reads %q, want %q", f.Path, got, f.Content)
		}
	}
	if v, err := Current(context.Background(), &localRunner{}, base); err != nil || v != set.Version {
		t.Errorf("Current = %q, %v; want %s", v, err, set.Version)
	}
	if ents, err := filepath.Glob(filepath.Join(filepath.Dir(set.Files[0].Path), ".deployctl-link.*")); err != nil || len(ents) > 0 {
		t.Errorf("temporary links left: %v %v", ents, err)
	}
}

// TestLinkAtomic switches one path between two versions while a reader
// reads it: the reader must always find one version or the other.
func TestLinkAtomic(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, etc := hostDirs(t)
	r := &localRunner{}
	path := etc + "/app.conf"
	sets := []*Set{
		mustSet(t, File{Name: "app.conf", Path: path, Mode: 0o644, Content: []byte("one\n")}),
		mustSet(t, File{Name: "app.conf", Path: path, Mode: 0o644, Content: []byte("two\n")}),
	}
	for _, s := range sets {
		if _, err := Ship(ctx, r, base, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := Link(ctx, r, base, sets[0]); err != nil {
		t.Fatal(err)
	}
	const maxReads = 2_000_000
	stop := make(chan struct{})
	type result struct {
		reads int
		bad   []string
	}
	done := make(chan result)
	go func() {
		var res result
		for ; res.reads < maxReads; res.reads++ {
			select {
			case <-stop:
				done <- res
				return
			default:
			}
			b, err := os.ReadFile(path)
			if s := string(b); err != nil || (s != "one\n" && s != "two\n") {
				if len(res.bad) < 5 {
					res.bad = append(res.bad, fmt.Sprintf("%q %v", b, err))
				}
			}
		}
		<-stop
		done <- res
	}()
	for i := range 20 {
		if err := Link(ctx, r, base, sets[(i+1)%2]); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	res := <-done
	if len(res.bad) > 0 {
		t.Errorf("the reader saw the path missing or wrong: %v", res.bad)
	}
	if res.reads == 0 {
		t.Error("the reader never ran")
	}
	t.Logf("%d reads during 20 switches", res.reads)
}

func TestCurrentNotSymlink(t *testing.T) {
	needTools(t)
	base, _ := hostDirs(t)
	if err := os.MkdirAll(filepath.Join(base, ConfigsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(base, ConfigsDir, CurrentName)
	if err := os.WriteFile(cur, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Current(testCtx(t), &localRunner{}, base); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("Current with a regular file: %v", err)
	}
	if err := os.Remove(cur); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("elsewhere", cur); err != nil {
		t.Fatal(err)
	}
	if _, err := Current(testCtx(t), &localRunner{}, base); err == nil || !strings.Contains(err.Error(), "not at a config version") {
		t.Errorf("Current pointing elsewhere: %v", err)
	}
}

func TestLive(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain", "a\nb")
	empty := write("empty", "")
	big := write("big", strings.Repeat("x", MaxFileBytes+100))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(plain, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	live, err := Live(testCtx(t), &localRunner{}, []string{plain, empty, big, link, dangling, missing})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{plain: "a\nb", empty: "", link: "a\nb"}
	for p, w := range want {
		if got, ok := live[p]; !ok || string(got) != w {
			t.Errorf("%s: %q (present %v), want %q", p, got, ok, w)
		}
	}
	if got := len(live[big]); got != MaxFileBytes+1 {
		t.Errorf("big file: %d bytes read, want %d", got, MaxFileBytes+1)
	}
	if d := Diff(big, live[big], []byte("x")); !strings.Contains(d, "files too large to diff") {
		t.Errorf("diff of a file cut by Live:\n%s", d)
	}
	for _, p := range []string{dangling, missing} {
		if _, ok := live[p]; ok {
			t.Errorf("%s is in the map", p)
		}
	}
	if len(live) != 4 {
		t.Errorf("%d paths in the map, want 4", len(live))
	}
	if _, err := Live(testCtx(t), &localRunner{}, []string{dir}); err == nil {
		t.Error("Live of a directory succeeded")
	}
}

func TestPrune(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, etc := hostDirs(t)
	r := &localRunner{}
	configs := filepath.Join(base, ConfigsDir)
	var v []string
	for i := range 6 {
		s := mustSet(t, File{Name: "a", Path: etc + "/a", Mode: 0o644, Content: fmt.Appendf(nil, "%d\n", i)})
		if _, err := Ship(ctx, r, base, s); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if err := Link(ctx, r, base, s); err != nil {
				t.Fatal(err)
			}
		}
		v = append(v, s.Version)
	}
	// Ages: v[0] oldest, v[5] newest, whatever the clock did.
	for i, name := range v {
		when := time.Now().Add(time.Duration(i-10) * time.Hour)
		if err := os.Chtimes(filepath.Join(configs, name), when, when); err != nil {
			t.Fatal(err)
		}
	}
	stray := []string{v[1] + PartialSuffix, v[4] + OldSuffix}
	for _, s := range stray {
		if err := os.MkdirAll(filepath.Join(configs, s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(configs, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := Prune(ctx, r, base, -1); err == nil {
		t.Error("a negative keep was accepted")
	}
	if _, err := Prune(ctx, r, base, 1, "nothex"); err == nil {
		t.Error("a malformed protected version was accepted")
	}
	removed, err := Prune(ctx, r, base, 2, v[0], "")
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the two newest, current (v[2]) and the protected v[0].
	wantRemoved := append([]string{v[1], v[3]}, stray...)
	slices.Sort(removed)
	slices.Sort(wantRemoved)
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed %v, want %v", removed, wantRemoved)
	}
	assertOnly(t, configs, v[0], v[2], v[4], v[5], CurrentName, "notes.txt")
	if got := readFile(t, etc+"/a"); got != "2\n" {
		t.Errorf("the live file reads %q after prune", got)
	}

	// 0 keeps DefaultKeep: nothing more to remove.
	if removed, err := Prune(ctx, r, base, 0); err != nil || len(removed) != 0 {
		t.Errorf("Prune(0) removed %v, %v", removed, err)
	}
	// An app with no configs directory yet has nothing to prune.
	other, _ := hostDirs(t)
	if removed, err := Prune(ctx, r, other, 1); err != nil || len(removed) != 0 {
		t.Errorf("Prune of an empty app: %v, %v", removed, err)
	}
}

func TestRemoteRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	r := refusingRunner{t}
	good := &Set{Files: []File{{Name: "a", Path: "/etc/a", Mode: 0o644}}}
	s, err := NewSet(good.Files)
	if err != nil {
		t.Fatal(err)
	}
	forged := &Set{Version: strings.Repeat("0", VersionLen), Files: s.Files}
	tests := []struct {
		name string
		call func() error
	}{
		{"ship relative base", func() error { _, err := Ship(ctx, r, "srv/app", s); return err }},
		{"ship unclean base", func() error { _, err := Ship(ctx, r, "/srv/app/", s); return err }},
		{"ship root base", func() error { _, err := Ship(ctx, r, "/", s); return err }},
		{"ship forged version", func() error { _, err := Ship(ctx, r, "/srv/app", forged); return err }},
		{"ship nil set", func() error { _, err := Ship(ctx, r, "/srv/app", nil); return err }},
		{"link forged version", func() error { return Link(ctx, r, "/srv/app", forged) }},
		{"link version not a version", func() error { return LinkVersion(ctx, r, "/srv/app", "../../etc") }},
		{"current bad base", func() error { _, err := Current(ctx, r, "srv"); return err }},
		{"live relative path", func() error { _, err := Live(ctx, r, []string{"etc/a"}); return err }},
		{"prune bad base", func() error { _, err := Prune(ctx, r, "", 1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestLinkRefusesPathInsideConfigs(t *testing.T) {
	needTools(t)
	ctx := testCtx(t)
	base, _ := hostDirs(t)
	r := &localRunner{}
	s := mustSet(t, File{Name: "a", Path: base + "/configs/x", Mode: 0o644})
	if _, err := Ship(ctx, r, base, s); err != nil {
		t.Fatal(err)
	}
	if err := Link(ctx, r, base, s); err == nil || !strings.Contains(err.Error(), "inside") {
		t.Errorf("Link into the configs directory: %v", err)
	}
}
