package gitsrc

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxSymlinkTarget is the longest symlink target Archive writes, Linux's
// PATH_MAX.
const maxSymlinkTarget = 4096

// Archive writes the tree of rev (a full commit hash, as Resolve returns)
// to w as a tar stream; see the package documentation for its exact form.
// A submodule, or an entry whose name could escape the extraction
// directory, is an error naming its path, and w then holds a partial
// stream that the receiver must discard.
func (s *Source) Archive(ctx context.Context, rev string, w io.Writer) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	repo, c, err := s.commit(rev)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("archive %s: %w", Short(rev), err)
	}
	a := archiver{ctx: ctx, tw: tar.NewWriter(w), st: repo.Storer, mtime: c.Committer.When, buf: make([]byte, 64<<10)}
	if err := walk(ctx, repo.Storer, tree, "", a.write); err != nil {
		return fmt.Errorf("archive %s: %w", Short(rev), err)
	}
	if err := a.tw.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", Short(rev), err)
	}
	return nil
}

// archiver writes tree entries as tar entries.
type archiver struct {
	ctx   context.Context
	tw    *tar.Writer
	st    storer.EncodedObjectStorer
	mtime time.Time
	buf   []byte
}

func (a *archiver) write(name string, e object.TreeEntry) error {
	hdr := &tar.Header{Name: name, ModTime: a.mtime}
	switch {
	case e.Mode == filemode.Dir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		hdr.Mode = 0o755
		return a.tw.WriteHeader(hdr)
	case e.Mode == filemode.Symlink:
		target, err := readBlob(a.st, e.Hash, maxSymlinkTarget)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = string(target)
		hdr.Mode = 0o777
		return a.tw.WriteHeader(hdr)
	case isRegular(e.Mode):
		return a.writeFile(hdr, e)
	}
	return fmt.Errorf("%s is %s, which an archive cannot hold", name, describeMode(e.Mode))
}

func (a *archiver) writeFile(hdr *tar.Header, e object.TreeEntry) error {
	blob, err := object.GetBlob(a.st, e.Hash)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	hdr.Typeflag = tar.TypeReg
	hdr.Size = blob.Size
	hdr.Mode = 0o644
	if e.Mode == filemode.Executable {
		hdr.Mode = 0o755
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	defer r.Close()
	if _, err := io.CopyBuffer(a.tw, ctxReader{a.ctx, r}, a.buf); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	return nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
