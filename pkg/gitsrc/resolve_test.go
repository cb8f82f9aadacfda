package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// refFixture is a repository with every kind of ref Resolve must handle.
type refFixture struct {
	repo             *gitRepo
	c1, c2, c3, c4   string // commits: c1 <- c2 <- c3 on main, c2 <- c4 on feature
	v2Object, c1Tree string // the annotated tag object of v2.0, the tree of c1
	hexName          string // a tag named like c4's short hash, pointing at c1
}

func newRefFixture(t *testing.T) *refFixture {
	t.Helper()
	r := newGitRepo(t)
	f := &refFixture{repo: r}
	r.write("README", "one\n", 0o644)
	f.c1 = r.commit("first")
	r.git("tag", "-a", "-m", "old release", "v0.9") // annotated, on an older commit by the end
	r.write("README", "two\n", 0o644)
	f.c2 = r.commit("second")
	r.git("tag", "v1.0") // lightweight
	r.git("pack-refs", "--all")
	r.write("README", "three\n", 0o644)
	f.c3 = r.commit("third")
	r.git("tag", "-a", "-m", "release two", "v2.0")
	f.v2Object = r.git("rev-parse", "v2.0")
	f.c1Tree = r.git("rev-parse", f.c1+"^{tree}")

	r.git("checkout", "-q", "-b", "feature", f.c2)
	r.write("feature.txt", "f\n", 0o644)
	f.c4 = r.commit("feature work")
	r.git("checkout", "-q", "main")

	r.git("tag", "both", f.c1)
	r.git("branch", "both", f.c3)
	f.hexName = f.c4[:7]
	r.git("tag", f.hexName, f.c1)

	r.git("update-ref", "refs/remotes/origin/release", f.c2)
	r.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/release")
	return f
}

func TestResolve(t *testing.T) {
	f := newRefFixture(t)
	s := f.repo.open(t)
	tests := []struct {
		name    string
		ref     string
		want    string
		wantErr error
		wantMsg []string // substrings the error must hold
	}{
		{name: "full hash", ref: f.c2, want: f.c2},
		{name: "full hash upper case", ref: strings.ToUpper(f.c2), want: f.c2},
		{name: "short hash", ref: f.c3[:7], want: f.c3},
		{name: "four hex digits", ref: f.c1[:4], want: f.c1},
		{name: "lightweight tag", ref: "v1.0", want: f.c2},
		{name: "annotated tag peeled", ref: "v2.0", want: f.c3},
		{name: "annotated tag on older commit", ref: "v0.9", want: f.c1},
		{name: "annotated tag object hash", ref: f.v2Object, want: f.c3},
		{name: "branch", ref: "feature", want: f.c4},
		{name: "HEAD", ref: "HEAD", want: f.c3},
		{name: "full tag name", ref: "refs/tags/both", want: f.c1},
		{name: "full branch name", ref: "refs/heads/both", want: f.c3},
		{name: "tags/ prefix", ref: "tags/both", want: f.c1},
		{name: "heads/ prefix", ref: "heads/both", want: f.c3},
		{name: "remote-tracking branch", ref: "origin/release", want: f.c2},
		{name: "remote HEAD", ref: "origin", want: f.c2},
		{
			name: "tag and branch", ref: "both", wantErr: ErrAmbiguousRef,
			wantMsg: []string{"tag refs/tags/both (commit " + f.c1[:12], "branch refs/heads/both (commit " + f.c3[:12]},
		},
		{
			name: "name that is also a short hash", ref: f.hexName, wantErr: ErrAmbiguousRef,
			wantMsg: []string{"tag refs/tags/" + f.hexName, "commit " + f.c4},
		},
		{name: "unknown name", ref: "nope", wantErr: ErrUnknownRef, wantMsg: []string{`"nope"`}},
		{name: "unknown full hash", ref: strings.Repeat("de", 20), wantErr: ErrUnknownRef},
		{name: "unknown short hash", ref: "0000000", wantErr: ErrUnknownRef},
		{name: "too short a hash", ref: f.c1[:3], wantErr: ErrUnknownRef, wantMsg: []string{"at least 4"}},
		{name: "tree hash", ref: f.c1Tree, wantErr: ErrUnknownRef, wantMsg: []string{"tree, not a commit"}},
		{name: "revision expression", ref: "HEAD~1", wantErr: ErrUnknownRef, wantMsg: []string{"not supported"}},
		{name: "path traversal", ref: "../../config", wantErr: ErrUnknownRef},
		{name: "git dir file", ref: "config", wantErr: ErrUnknownRef},
		{name: "refs directory", ref: "tags", wantErr: ErrUnknownRef},
		{name: "empty", ref: "", wantErr: ErrUnknownRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Resolve(context.Background(), tt.ref)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resolve(%q) = %q, %v; want an error wrapping %v", tt.ref, got, err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestResolveShortHashCollision(t *testing.T) {
	r := newGitRepo(t)
	r.write("a", "a\n", 0o644)
	base := r.commit("base")

	// fast-import makes many commits in one process; with 2000 commits a
	// shared 4-digit prefix is all but certain, and the hashes are the same
	// on every run since names and dates are fixed.
	const n = 2000
	var stream strings.Builder
	for i := range n {
		msg := fmt.Sprintf("commit %d\n", i)
		content := fmt.Sprintf("%d\n", i)
		fmt.Fprintf(&stream, "commit refs/heads/many\ncommitter C <c@example.test> %d +0000\ndata %d\n%s",
			baseTime+1000+i, len(msg), msg)
		if i == 0 {
			fmt.Fprintf(&stream, "from %s\n", base)
		}
		fmt.Fprintf(&stream, "M 644 inline n.txt\ndata %d\n%s\n", len(content), content)
	}
	r.gitStdin([]byte(stream.String()), "fast-import", "--quiet")

	// Sort every object by 4-digit prefix and kind.
	commits := make(map[string][]string)
	others := make(map[string]int)
	for _, line := range strings.Split(r.git("cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"), "\n") {
		hash, typ, _ := strings.Cut(line, " ")
		if typ == "commit" {
			commits[hash[:4]] = append(commits[hash[:4]], hash)
		} else {
			others[hash[:4]]++
		}
	}
	var shared, single string // a prefix of two commits; a prefix of one commit and other objects
	for p, hs := range commits {
		if len(hs) >= 2 && (shared == "" || p < shared) {
			shared = p
		}
		if len(hs) == 1 && others[p] > 0 && (single == "" || p < single) {
			single = p
		}
	}
	if shared == "" || single == "" {
		t.Fatalf("no suitable prefixes among %d commits (shared %q, single %q)", n, shared, single)
	}

	s := r.open(t)
	t.Run("ambiguous prefix", func(t *testing.T) {
		_, err := s.Resolve(context.Background(), shared)
		if !errors.Is(err, ErrAmbiguousRef) {
			t.Fatalf("Resolve(%q) error = %v, want ErrAmbiguousRef", shared, err)
		}
		for _, h := range commits[shared] {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("error %q does not list commit %s", err, h)
			}
		}
	})
	t.Run("longer prefix is unique", func(t *testing.T) {
		want := commits[shared][0]
		got, err := s.Resolve(context.Background(), want[:12])
		if err != nil || got != want {
			t.Fatalf("Resolve(%q) = %q, %v; want %q", want[:12], got, err, want)
		}
	})
	t.Run("blobs and trees are not candidates", func(t *testing.T) {
		want := commits[single][0]
		got, err := s.Resolve(context.Background(), single)
		if err != nil || got != want {
			t.Fatalf("Resolve(%q) = %q, %v; want %q", single, got, err, want)
		}
	})
}

func TestResolveCanceled(t *testing.T) {
	f := newRefFixture(t)
	s := f.repo.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Resolve(ctx, "main"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve with a canceled context: %v, want context.Canceled", err)
	}
}
