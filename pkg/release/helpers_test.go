package release_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

var (
	revA = strings.Repeat("a", 40)
	revB = strings.Repeat("b", 40)
	revC = strings.Repeat("c", 40)
)

// entry is one path of a test release.
type entry struct {
	name    string
	mode    os.FileMode // permission bits
	content string      // for a file
	link    string      // symlink target, when not ""
	dir     bool
}

// weirdTree has names that break naive quoting, modes, a symlink, an
// empty directory, and directories implied only by their files' paths.
func weirdTree() []entry {
	return []entry{
		{name: "README", mode: 0o644, content: "hello\n"},
		{name: "bin", dir: true, mode: 0o755},
		{name: "bin/start", mode: 0o755, content: "#!/bin/sh\necho started\n"},
		{name: "with space.txt", mode: 0o644, content: "space"},
		{name: "quote'single", mode: 0o644, content: "single"},
		{name: `quote"double`, mode: 0o644, content: "double"},
		{name: "$(touch pwned).txt", mode: 0o644, content: "not run"},
		{name: "`touch pwned2`", mode: 0o644, content: "not run either"},
		{name: "new\nline", mode: 0o644, content: "newline"},
		{name: `back\slash`, mode: 0o600, content: "backslash"},
		{name: "-dash", mode: 0o644, content: "dash"},
		{name: "star*?[x]", mode: 0o644, content: "glob"},
		{name: "tab\there", mode: 0o644, content: "tab"},
		{name: "unicodé ✓", mode: 0o644, content: "utf8"},
		{name: "dir with space/inner 'file' $(x)", mode: 0o644, content: "nested"},
		{name: "a/b/c/deep.txt", mode: 0o644, content: "deep"},
		{name: "link to space", link: "with space.txt"},
		{name: "empty", dir: true, mode: 0o755},
	}
}

// tarOf builds the tar stream pkg/gitsrc would: a pax global header
// naming the commit (as git archive writes), then the entries.
func tarOf(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": revA}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: int64(e.mode), ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.content); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// archiveOf is an Archive writing b, counting its calls.
func archiveOf(b []byte, calls *atomic.Int64) release.Archive {
	return func(ctx context.Context, w io.Writer) error {
		if calls != nil {
			calls.Add(1)
		}
		_, err := w.Write(b)
		return err
	}
}

// assertTree checks that root holds exactly entries (plus the marker
// files and the directories their paths imply), with contents, modes and links.
func assertTree(t testing.TB, root string, entries []entry) {
	t.Helper()
	want := map[string]bool{}
	for _, e := range entries {
		want[e.name] = true
		for d := filepath.Dir(e.name); d != "."; d = filepath.Dir(d) {
			want[d] = true
		}
		p := filepath.Join(root, e.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%q: %v", e.name, err)
			continue
		}
		switch {
		case e.link != "":
			got, err := os.Readlink(p)
			if err != nil || got != e.link {
				t.Errorf("%q: link to %q (%v), want %q", e.name, got, err, e.link)
			}
		case e.dir:
			if !fi.IsDir() || fi.Mode().Perm() != e.mode {
				t.Errorf("%q: %v, want a directory %v", e.name, fi.Mode(), e.mode)
			}
		default:
			b, err := os.ReadFile(p)
			if err != nil || string(b) != e.content {
				t.Errorf("%q: content %q (%v), want %q", e.name, b, err, e.content)
			}
			if fi.Mode().Perm() != e.mode || !fi.Mode().IsRegular() {
				t.Errorf("%q: mode %v, want %v", e.name, fi.Mode(), e.mode)
			}
		}
	}
	var extra []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if rel != "." && rel != release.MarkerName && rel != release.ManifestName && !want[rel] {
			extra = append(extra, rel)
		}
		return nil
	})
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("unexpected entries in %s: %q", root, extra)
	}
}

func layout(t testing.TB) release.Layout {
	return release.Layout{DeployDir: t.TempDir(), App: "app"}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// *sshx.Client and *sshx.Local are the Runners release is used with.
var (
	_ release.Runner = (*sshx.Client)(nil)
	_ release.Runner = (*sshx.Local)(nil)
)
