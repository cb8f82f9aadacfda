package gitsrc

import (
	"context"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// MaxReadBytes bounds what one ReadFile or Files call reads into memory.
const MaxReadBytes = 32 << 20

// ReadFile returns the content of the regular file at path (slash-separated,
// relative to the repository root) in rev. A missing file wraps
// fs.ErrNotExist; a directory, symlink or submodule is an error too.
func (s *Source) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	repo, c, err := s.commit(rev)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, Short(rev), err)
	}
	if p == "" {
		return nil, fmt.Errorf("read the repository root at %s: a directory, not a file", Short(rev))
	}
	e, err := lookup(repo.Storer, tree, p)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, Short(rev), err)
	}
	if !isRegular(e.Mode) {
		return nil, fmt.Errorf("read %s at %s: %s, not a regular file", p, Short(rev), describeMode(e.Mode))
	}
	data, err := readBlob(repo.Storer, e.Hash, MaxReadBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, Short(rev), err)
	}
	return data, nil
}

// Files returns every regular file below dir (slash-separated, relative to
// the repository root; "" is the root) in rev, keyed by its path relative
// to dir. A missing dir wraps fs.ErrNotExist. Symlinks and submodules below
// dir are errors naming them, so that no template is silently left out.
func (s *Source) Files(ctx context.Context, rev, dir string) (map[string][]byte, error) {
	p, err := cleanPath(dir)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	repo, c, err := s.commit(rev)
	if err != nil {
		return nil, fmt.Errorf("files %s: %w", dir, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("files %s at %s: %w", p, Short(rev), err)
	}
	if p != "" {
		e, err := lookup(repo.Storer, tree, p)
		if err != nil {
			return nil, fmt.Errorf("files %s at %s: %w", p, Short(rev), err)
		}
		if e.Mode != filemode.Dir {
			return nil, fmt.Errorf("files %s at %s: %s, not a directory", p, Short(rev), describeMode(e.Mode))
		}
		if tree, err = object.GetTree(repo.Storer, e.Hash); err != nil {
			return nil, fmt.Errorf("files %s at %s: %w", p, Short(rev), err)
		}
	}
	files := make(map[string][]byte)
	var total int64
	err = walk(ctx, repo.Storer, tree, "", func(name string, e object.TreeEntry) error {
		if e.Mode == filemode.Dir {
			return nil
		}
		if !isRegular(e.Mode) {
			return fmt.Errorf("%s is %s, not a regular file", name, describeMode(e.Mode))
		}
		data, err := readBlob(repo.Storer, e.Hash, MaxReadBytes-total)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		total += int64(len(data))
		files[name] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("files %s at %s: %w", p, Short(rev), err)
	}
	return files, nil
}

// readBlob returns a blob's content, refusing one larger than limit bytes.
func readBlob(st storer.EncodedObjectStorer, h plumbing.Hash, limit int64) ([]byte, error) {
	blob, err := object.GetBlob(st, h)
	if err != nil {
		return nil, err
	}
	if blob.Size > limit {
		return nil, fmt.Errorf("%d bytes is more than the %d allowed", blob.Size, limit)
	}
	r, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
