package gitsrc

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// oddName has every character a shell or a careless tar pipeline trips on.
const oddName = "we ird 'single' \"double\" $(touch pwned) `touch pwned2`\nsecond line.txt"

// entry is what one path of an extracted archive should be.
type entry struct {
	kind    fs.FileMode // 0 (regular), fs.ModeDir or fs.ModeSymlink
	perm    fs.FileMode // for regular files and directories
	content string      // file content or symlink target
}

// archiveFixture commits a tree with every kind of entry Archive writes and
// returns the repository, the rev and the entries expected after extraction.
func archiveFixture(t *testing.T) (*gitRepo, string, map[string]entry) {
	t.Helper()
	r := newGitRepo(t)
	long := strings.Repeat("long-directory-name/", 6) + "file-with-a-long-name.txt" // over tar's 100-byte name field
	files := map[string]entry{
		"plain.txt":        {perm: 0o644, content: "hello\n"},
		"empty":            {perm: 0o644},
		"bin/run.sh":       {perm: 0o755, content: "#!/bin/sh\necho hi\n"},
		oddName:            {perm: 0o644, content: "odd\n"},
		"a/b/c/deep.txt":   {perm: 0o644, content: "deep\n"},
		"ünïcode/名前.txt":   {perm: 0o644, content: "utf-8\n"},
		long:               {perm: 0o755, content: "long\n"},
		"link":             {kind: fs.ModeSymlink, content: "bin/run.sh"},
		"a/up":             {kind: fs.ModeSymlink, content: "../plain.txt"},
		"shared-config":    {kind: fs.ModeSymlink, content: "../../shared/config.yaml"}, // dangling, kept as is
		"a/b/c/other.conf": {perm: 0o644, content: "x = 1\n"},
	}
	want := make(map[string]entry)
	for name, e := range files {
		if e.kind == fs.ModeSymlink {
			p := filepath.Join(r.dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(e.content, p); err != nil {
				t.Fatal(err)
			}
		} else {
			r.write(name, e.content, e.perm)
		}
		want[name] = e
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			want[d] = entry{kind: fs.ModeDir, perm: 0o755}
		}
	}
	rev := r.commit("tree with every kind of entry")
	return r, rev, want
}

func TestArchiveExtractsWithTar(t *testing.T) {
	requireBinary(t, "tar")
	r, rev, want := archiveFixture(t)
	s := r.open(t)
	var buf bytes.Buffer
	if err := s.Archive(context.Background(), rev, &buf); err != nil {
		t.Fatalf("Archive: %v", err)
	}

	dst := t.TempDir()
	cmd := exec.Command("tar", "-x", "--no-same-owner", "-f", "-", "-C", dst)
	cmd.Dir = dst
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}

	got := make(map[string]entry)
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dst {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{kind: info.Mode().Type()}
		switch e.kind {
		case fs.ModeSymlink:
			e.content, err = os.Readlink(p)
		case fs.ModeDir:
			e.perm = info.Mode().Perm()
		default:
			e.perm = info.Mode().Perm()
			var b []byte
			b, err = os.ReadFile(p)
			e.content = string(b)
			if !info.ModTime().Equal(time.Unix(baseTime+60, 0)) {
				t.Errorf("%q: mtime %v, want the commit time", rel, info.ModTime())
			}
		}
		got[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%q missing after extraction", name)
		} else if g != w {
			t.Errorf("%q = %+v, want %+v", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected %q after extraction", name)
		}
	}
}

func TestArchiveHeaders(t *testing.T) {
	r, rev, want := archiveFixture(t)
	s := r.open(t)
	var first, second bytes.Buffer
	if err := s.Archive(context.Background(), rev, &first); err != nil {
		t.Fatal(err)
	}
	if err := s.Archive(context.Background(), rev, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two archives of the same rev differ")
	}

	tr := tar.NewReader(&first)
	seen := make(map[string]bool)
	for range 1000 {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			t.Errorf("global pax header in the archive")
		}
		if d := filepath.Dir(name); d != "." && !seen[d] {
			t.Errorf("%q comes before its directory %q", name, d)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%q: owner %d:%d %q:%q, want 0:0 and no names", name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		if !hdr.ModTime.Equal(time.Unix(baseTime+60, 0)) {
			t.Errorf("%q: header time %v, want the commit time", name, hdr.ModTime)
		}
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected entry %q", hdr.Name)
		}
		seen[name] = true
	}
	if len(seen) != len(want) {
		t.Errorf("archive has %d entries, want %d", len(seen), len(want))
	}
}

func TestArchiveErrors(t *testing.T) {
	r := newGitRepo(t)
	r.write("ok.txt", "ok\n", 0o644)
	good := r.commit("good")
	r.git("update-index", "--add", "--cacheinfo", "160000,"+good+",vendor/sub")
	r.git("commit", "-q", "-m", "add a submodule") // not r.commit: add -A would drop the gitlink
	withSubmodule := r.git("rev-parse", "HEAD")

	// git mktree takes a name git itself would never write.
	blob := r.gitStdin([]byte("x\n"), "hash-object", "-w", "--stdin")
	tree := r.gitStdin([]byte("100644 blob "+blob+"\t..\n"), "mktree")
	hostile := r.git("commit-tree", "-m", "hostile", tree)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	s := r.open(t)
	tests := []struct {
		name    string
		ctx     context.Context
		rev     string
		wantErr error
		wantMsg string
	}{
		{name: "submodule", rev: withSubmodule, wantMsg: "vendor/sub is a submodule"},
		{name: "unsafe name", rev: hostile, wantMsg: `unsafe name ".."`},
		{name: "not a full hash", rev: "main", wantMsg: "not a full commit hash"},
		{name: "short hash", rev: good[:7], wantMsg: "not a full commit hash"},
		{name: "unknown commit", rev: strings.Repeat("ab", 20), wantErr: ErrUnknownRef},
		{name: "canceled", ctx: canceled, rev: good, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			err := s.Archive(ctx, tt.rev, io.Discard)
			if err == nil {
				t.Fatal("Archive succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestArchiveConcurrent(t *testing.T) {
	r, rev, _ := archiveFixture(t)
	s := r.open(t)
	var want bytes.Buffer
	if err := s.Archive(context.Background(), rev, &want); err != nil {
		t.Fatal(err)
	}
	const n = 4
	got := make([]bytes.Buffer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Archive(context.Background(), rev, &got[i])
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("archive %d: %v", i, errs[i])
		} else if !bytes.Equal(got[i].Bytes(), want.Bytes()) {
			t.Errorf("archive %d differs from a lone archive", i)
		}
	}
}

// BenchmarkArchive archives a generated tree of about 20 MB: 400 files of
// 50 KB of incompressible bytes in 20 directories.
func BenchmarkArchive(b *testing.B) {
	r := newGitRepo(b)
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 50<<10)
	var total int64
	for i := range 400 {
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		r.write(fmt.Sprintf("d%02d/f%03d.bin", i%20, i), string(data), 0o644)
		total += int64(len(data))
	}
	rev := r.commit("20 MB")
	s := r.open(b)
	b.SetBytes(total)
	for b.Loop() {
		if err := s.Archive(context.Background(), rev, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
