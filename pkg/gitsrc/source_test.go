package gitsrc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestIsURL(t *testing.T) {
	tests := []struct {
		repo string
		want bool
	}{
		{"https://git.example.test/org/app.git", true},
		{"ssh://git@git.example.test:2222/org/app.git", true},
		{"git@git.example.test:org/app.git", true},
		{"git.example.test:org/app.git", true},
		{"file:///srv/git/app", true},
		{"/srv/git/app", false},
		{"./a:b", false},
		{"../up/app", false},
		{"app", false},
		{":app", false},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			if got := IsURL(tt.repo); got != tt.want {
				t.Errorf("IsURL(%q) = %v, want %v", tt.repo, got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"https user and token", "https://deploy:s3cret@git.example.test/app.git", "https://git.example.test/app.git"},
		{"https token as user", "https://s3cret@git.example.test/app.git", "https://git.example.test/app.git"},
		{"ssh password", "ssh://git:s3cret@git.example.test/app.git", "ssh://git@git.example.test/app.git"},
		{"ssh user only", "ssh://git@git.example.test/app.git", "ssh://git@git.example.test/app.git"},
		{"scp-like", "git@git.example.test:app.git", "git@git.example.test:app.git"},
		{"path", "/srv/git/app", "/srv/git/app"},
		{"unparsable", "https://deploy:s3cret@git.example.test/%zz", "https://git.example.test/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact(tt.in)
			if got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3cret") {
				t.Errorf("redact(%q) shows the secret", tt.in)
			}
		})
	}
}

func TestCacheName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*-[0-9a-f]{16}\.git$`)
	tests := []struct {
		name, url, prefix string
	}{
		{"https", "https://git.example.test/org/restbase.git", "restbase-"},
		{"trailing slash", "https://git.example.test/org/restbase/", "restbase-"},
		{"scp-like", "git@git.example.test:restbase", "restbase-"},
		{"odd characters", "https://git.example.test/org/my%20app!.git", "my_20app_-"},
		{"no path", "file:///", "repo-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cacheName(tt.url)
			if !strings.HasPrefix(got, tt.prefix) || !valid.MatchString(got) {
				t.Errorf("cacheName(%q) = %q, want %q... matching %s", tt.url, got, tt.prefix, valid)
			}
		})
	}
	a := cacheName("https://git.example.test/org/restbase.git")
	if b := cacheName("https://deploy:s3cret@git.example.test/org/restbase.git"); a != b {
		t.Errorf("credentials change the cache name: %q, %q", a, b)
	}
	if b := cacheName("https://git.example.test/other/restbase.git"); a == b {
		t.Errorf("two URLs share the cache name %q", a)
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	origin := newGitRepo(t)
	origin.write("a", "1\n", 0o644)
	c1 := origin.commit("one")
	origin.git("tag", "-a", "-m", "release one", "v1")
	origin.git("branch", "doomed")
	origin.git("checkout", "-q", "-b", "release") // the origin's HEAD, so the cache's HEAD must follow it
	origin.write("a", "release\n", 0o644)
	r1 := origin.commit("release one")

	cacheDir := filepath.Join(t.TempDir(), "cache")
	url := "file://" + origin.dir
	s, err := Open(ctx, url, cacheDir)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	cache := filepath.Join(cacheDir, cacheName(url))
	entries, err := os.ReadDir(cacheDir)
	if err != nil || len(entries) != 1 || entries[0].Name() != filepath.Base(cache) {
		t.Fatalf("cache dir holds %v (%v), want only %s", entries, err, filepath.Base(cache))
	}
	for _, p := range []string{"HEAD", "objects", "refs"} { // a bare repository
		if _, err := os.Stat(filepath.Join(cache, p)); err != nil {
			t.Errorf("cache is not a bare repository: %v", err)
		}
	}
	if cfg, err := os.ReadFile(filepath.Join(cache, "config")); err != nil || strings.Contains(string(cfg), origin.dir) {
		t.Errorf("cache config (%v) records the URL:\n%s", err, cfg)
	}

	expect := func(t *testing.T, ref, want string) {
		t.Helper()
		got, err := s.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	expect(t, "main", c1)
	expect(t, "v1", c1)
	expect(t, "doomed", c1)
	expect(t, "release", r1)
	expect(t, "HEAD", r1)

	origin.write("a", "2\n", 0o644)
	r2 := origin.commit("release two")
	origin.git("tag", "v2")
	origin.git("branch", "-D", "doomed")
	expect(t, "release", r1) // nothing changes until a fetch

	if err := s.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	expect(t, "release", r2)
	expect(t, "v2", r2)
	expect(t, "v1", c1)
	if _, err := s.Resolve(ctx, "doomed"); !errors.Is(err, ErrUnknownRef) {
		t.Errorf("Resolve(doomed) after the branch was deleted: %v, want ErrUnknownRef", err)
	}
	if err := s.Fetch(ctx); err != nil {
		t.Errorf("Fetch with nothing new: %v", err)
	}
	var buf strings.Builder
	if err := s.Archive(ctx, r2, &buf); err != nil || buf.Len() == 0 {
		t.Errorf("Archive from the cache: %v (%d bytes)", err, buf.Len())
	}

	// Opening again fetches the existing cache.
	origin.write("a", "3\n", 0o644)
	r3 := origin.commit("release three")
	s, err = Open(ctx, url, cacheDir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	expect(t, "release", r3)
	if entries, _ := os.ReadDir(cacheDir); len(entries) != 1 {
		t.Errorf("cache dir holds %d entries after a second Open, want 1", len(entries))
	}
}

func TestOpenURLFailureLeavesNoCache(t *testing.T) {
	requireBinary(t, "git") // the file transport runs git-upload-pack
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	origin := newGitRepo(t)
	origin.write("a", "1\n", 0o644)
	origin.commit("one")
	tests := []struct {
		name string
		ctx  context.Context
		url  string
	}{
		{name: "missing repository", ctx: context.Background(), url: "file://" + filepath.Join(t.TempDir(), "nope")},
		{name: "canceled", ctx: canceled, url: "file://" + origin.dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cacheDir := t.TempDir()
			if _, err := Open(tt.ctx, tt.url, cacheDir); err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			if entries, _ := os.ReadDir(cacheDir); len(entries) != 0 {
				t.Errorf("a failed Open left %v in the cache dir", entries)
			}
		})
	}
}

func TestOpenURLHidesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, url string
	}{
		{name: "token as user, server error", url: "http://t0ken-xyz@" + host + "/app.git"},
		{name: "user and password, server error", url: "http://deploy-user:pa55-xyz@" + host + "/app.git"},
		{name: "escaped password, refused", url: "http://deploy-user:pa55%2Fxyz@" + refused + "/app.git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.url, t.TempDir())
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, secret := range []string{"t0ken", "pa55", "deploy-user"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows %q: %v", secret, err)
				}
			}
		})
	}
}

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	work := newGitRepo(t)
	work.write("a", "1\n", 0o644)
	rev := work.commit("one")
	bare := filepath.Join(t.TempDir(), "bare.git")
	work.git("clone", "-q", "--bare", work.dir, bare)

	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{name: "work tree", path: work.dir},
		{name: "bare repository", path: bare},
		{name: "not a repository", path: t.TempDir(), wantErr: true},
		{name: "missing", path: filepath.Join(t.TempDir(), "nope"), wantErr: true},
		{name: "URL without cache dir", path: "file://" + bare, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.path, "")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Open(%q) succeeded, want an error", tt.path)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.path, err)
			}
			if err := s.Fetch(ctx); err != nil {
				t.Errorf("Fetch of a local source: %v", err)
			}
			if got, err := s.Resolve(ctx, "main"); err != nil || got != rev {
				t.Errorf("Resolve(main) = %q, %v; want %q", got, err, rev)
			}
		})
	}
}
