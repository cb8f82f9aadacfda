package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// FetchTimeout bounds every clone or fetch of a URL source, on top of the
// caller's context.
const FetchTimeout = 10 * time.Minute

// Source is a git repository to deploy from. Create it with Open.
type Source struct {
	loc string // the repo as given, with credentials removed: for messages
	url string // the URL to fetch from; empty for a local path
	dir string // the repository read by every call: the local path or the cache

	// mu lets Fetch change the cache only while no other call reads it.
	mu sync.RWMutex
}

// Open opens the source repo. A local path (a work tree or a bare
// repository) is used in place and read only. A URL is cloned (bare) into a
// cache directory under cacheDir on first use and fetched on every Open
// after that; see the package documentation for the cache layout. A failed
// fetch fails Open rather than falling back to the cache, since a stale
// cache would resolve a branch to an old commit without a word.
func Open(ctx context.Context, repo, cacheDir string) (*Source, error) {
	if repo == "" {
		return nil, errors.New("open source: empty repo")
	}
	if !IsURL(repo) {
		return openLocal(repo)
	}
	if cacheDir == "" {
		return nil, fmt.Errorf("open source %s: a URL source needs a cache directory", redact(repo))
	}
	s := &Source{loc: redact(repo), url: repo, dir: filepath.Join(cacheDir, cacheName(repo))}
	if _, err := os.Stat(s.dir); err == nil {
		if err := s.Fetch(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.clone(ctx, cacheDir); err != nil {
		return nil, fmt.Errorf("open source %s: %w", s.loc, scrub(err, s.url))
	}
	return s, nil
}

func openLocal(path string) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	s := &Source{loc: abs, dir: abs}
	if _, err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// String returns where the source is, with any credentials removed.
func (s *Source) String() string { return s.loc }

// Fetch brings a URL source's cache up to date with the remote: new and
// moved branches and tags arrive, deleted ones go. For a local path it does
// nothing, since a local repository is read as it is. It waits for other
// calls on s in progress to finish first.
func (s *Source) Fetch(ctx context.Context) error {
	if s.url == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.open()
	if err != nil {
		return err
	}
	if err := fetch(ctx, repo, s.url); err != nil {
		return fmt.Errorf("fetch %s: %w", s.loc, scrub(err, s.url))
	}
	return nil
}

// clone fetches the remote into a fresh bare repository in a temporary
// directory and renames it to s.dir, so a failed clone leaves nothing behind.
func (s *Source) clone(ctx context.Context, cacheDir string) (err error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cacheDir, filepath.Base(s.dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	repo, err := git.PlainInit(tmp, true)
	if err != nil {
		return err
	}
	if err := fetch(ctx, repo, s.url); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.dir); err != nil {
		// Another process cloned the same URL first: use its cache.
		if _, statErr := os.Stat(s.dir); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}

// open returns a new go-git handle on the repository. go-git handles are
// not safe for concurrent use, so every call gets its own.
func (s *Source) open() (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(s.dir, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", s.loc, err)
	}
	return repo, nil
}

// commit returns the commit a rev names. A rev must be a full lowercase
// hash, as returned by Resolve, so that nothing after Resolve can move.
func (s *Source) commit(rev string) (*git.Repository, *object.Commit, error) {
	if _, err := ParseRev(rev); err != nil {
		return nil, nil, fmt.Errorf("rev %q is not a full commit hash (resolve the ref first)", rev)
	}
	repo, err := s.open()
	if err != nil {
		return nil, nil, err
	}
	c, err := repo.CommitObject(plumbing.NewHash(rev))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, nil, fmt.Errorf("commit %s: %w", rev, ErrUnknownRef)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("commit %s: %w", rev, err)
	}
	return repo, c, nil
}
