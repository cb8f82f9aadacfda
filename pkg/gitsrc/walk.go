package gitsrc

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// walk calls fn for every entry under tree in git's order, a directory
// before its contents, with the entry's slash-separated path below tree
// prefixed by prefix. It refuses names that could escape the directory the
// tree is written to, which git itself never creates but a hostile
// repository could.
func walk(ctx context.Context, st storer.EncodedObjectStorer, tree *object.Tree, prefix string,
	fn func(name string, e object.TreeEntry) error) error {
	for _, e := range tree.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := prefix + e.Name
		if !safeName(e.Name) {
			return fmt.Errorf("unsafe name %q in the tree", name)
		}
		if err := fn(name, e); err != nil {
			return err
		}
		if e.Mode != filemode.Dir {
			continue
		}
		sub, err := object.GetTree(st, e.Hash)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := walk(ctx, st, sub, name+"/", fn); err != nil {
			return err
		}
	}
	return nil
}

func safeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// lookup returns the entry at the slash path p below tree. A missing
// entry, or a path through something that is not a directory, wraps
// fs.ErrNotExist.
func lookup(st storer.EncodedObjectStorer, tree *object.Tree, p string) (object.TreeEntry, error) {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		var found *object.TreeEntry
		for j := range tree.Entries {
			if tree.Entries[j].Name == part {
				found = &tree.Entries[j]
				break
			}
		}
		if found == nil || (i < len(parts)-1 && found.Mode != filemode.Dir) {
			return object.TreeEntry{}, fs.ErrNotExist
		}
		if i == len(parts)-1 {
			return *found, nil
		}
		sub, err := object.GetTree(st, found.Hash)
		if err != nil {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", path.Join(parts[:i+1]...), err)
		}
		tree = sub
	}
	return object.TreeEntry{}, fs.ErrNotExist
}

// cleanPath turns a path given by a caller into a slash path relative to
// the tree root; "" and "." are the root itself. It refuses absolute paths
// and paths that leave the tree.
func cleanPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q is absolute; paths are relative to the repository root", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the repository", p)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

func isRegular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// describeMode names an entry's kind for messages.
func describeMode(m filemode.FileMode) string {
	switch m {
	case filemode.Dir:
		return "a directory"
	case filemode.Symlink:
		return "a symlink"
	case filemode.Submodule:
		return "a submodule (gitlink)"
	}
	if isRegular(m) {
		return "a regular file"
	}
	return fmt.Sprintf("an entry of unknown mode %o", uint32(m))
}
