package gitsrc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// MinShortHash is the fewest hex digits Resolve takes as a commit hash
// prefix, as git does.
const MinShortHash = 4

// maxTagDepth bounds how many tags pointing at tags are followed.
const maxTagDepth = 10

var (
	// ErrUnknownRef means a ref matches no tag, branch or commit, or does
	// not name a commit.
	ErrUnknownRef = errors.New("unknown ref")
	// ErrAmbiguousRef means a ref matches more than one tag, branch or
	// commit; the error lists them.
	ErrAmbiguousRef = errors.New("ambiguous ref")
)

// refRules are the places git rev-parse looks for a name, in its order.
var refRules = []string{
	"refs/%s",
	"refs/tags/%s",
	"refs/heads/%s",
	"refs/remotes/%s",
	"refs/remotes/%s/HEAD",
}

// candidate is one thing a ref matched.
type candidate struct {
	what string // "tag refs/tags/v1", "commit 1a2b…"
	rev  plumbing.Hash
}

func (c candidate) String() string {
	if strings.HasPrefix(c.what, "commit ") {
		return c.what
	}
	return c.what + " (commit " + Short(c.rev.String()) + ")"
}

// Resolve returns the full 40-hex commit hash that ref names: a full or
// short commit hash, a tag (annotated tags are peeled to their commit), a
// branch, a remote-tracking branch, HEAD, or a full ref name. A ref that
// matches nothing wraps ErrUnknownRef; one that matches more than one thing
// (a tag and a branch, or a name and a hash prefix) wraps ErrAmbiguousRef
// and lists the candidates. See the package documentation for the rules.
func (s *Source) Resolve(ctx context.Context, ref string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	if err := checkRefSyntax(ref); err != nil {
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	repo, err := s.open()
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	cands, err := candidates(repo, ref)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	switch len(cands) {
	case 0:
		hint := ""
		if isHex(ref) && len(ref) < MinShortHash {
			hint = fmt.Sprintf(" (a hash needs at least %d hex digits)", MinShortHash)
		}
		return "", fmt.Errorf("resolve %q: %w: no tag, branch or commit matches%s", ref, ErrUnknownRef, hint)
	case 1:
		return cands[0].rev.String(), nil
	}
	list := make([]string, len(cands))
	for i, c := range cands {
		list[i] = c.String()
	}
	return "", fmt.Errorf("resolve %q: %w: it matches %s; use a full ref name or a longer hash",
		ref, ErrAmbiguousRef, strings.Join(list, ", "))
}

// candidates returns everything ref matches, refs first in git's order, then
// commits by hash.
func candidates(repo *git.Repository, ref string) ([]candidate, error) {
	var out []candidate
	seen := make(map[plumbing.ReferenceName]bool)
	for _, name := range refNames(ref) {
		if seen[name] {
			continue
		}
		seen[name] = true
		r, err := repo.Reference(name, true)
		if err != nil {
			if errors.Is(err, plumbing.ErrReferenceNotFound) {
				continue
			}
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		rev, err := peel(repo, r.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind(name), name, err)
		}
		out = append(out, candidate{what: kind(name) + " " + name.String(), rev: rev})
	}
	commits, err := commitsWithPrefix(repo, ref)
	if err != nil {
		return nil, err
	}
	return append(out, commits...), nil
}

// refNames lists the full ref names ref could stand for. Only HEAD and
// names under refs/ are taken as they are, so that a ref never reaches other
// files of the git directory (config, FETCH_HEAD).
func refNames(ref string) []plumbing.ReferenceName {
	var names []plumbing.ReferenceName
	if ref == "HEAD" || strings.HasPrefix(ref, "refs/") {
		names = append(names, plumbing.ReferenceName(ref))
	}
	for _, rule := range refRules {
		names = append(names, plumbing.ReferenceName(fmt.Sprintf(rule, ref)))
	}
	return names
}

func kind(name plumbing.ReferenceName) string {
	switch {
	case name == plumbing.HEAD:
		return "HEAD"
	case name.IsTag():
		return "tag"
	case name.IsBranch():
		return "branch"
	case name.IsRemote():
		return "remote-tracking branch"
	}
	return "ref"
}

// commitsWithPrefix returns the commits whose hash starts with ref, when ref
// looks like a hash. A full hash may also name an annotated tag, which is
// peeled like a tag ref.
func commitsWithPrefix(repo *git.Repository, ref string) ([]candidate, error) {
	if len(ref) < MinShortHash || len(ref) > 40 || !isHex(ref) {
		return nil, nil
	}
	p := strings.ToLower(ref)
	if len(p) == 40 {
		h := plumbing.NewHash(p)
		if _, err := repo.Storer.EncodedObject(plumbing.AnyObject, h); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return nil, nil
			}
			return nil, fmt.Errorf("read object %s: %w", p, err)
		}
		rev, err := peel(repo, h)
		if err != nil {
			return nil, err
		}
		return []candidate{{what: "commit " + p, rev: rev}}, nil
	}
	lister, ok := repo.Storer.(interface {
		HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
	})
	if !ok {
		return nil, errors.New("the repository storage cannot search hash prefixes")
	}
	prefix, err := hex.DecodeString(p[:len(p)/2*2])
	if err != nil {
		return nil, err
	}
	hashes, err := lister.HashesWithPrefix(prefix)
	if err != nil {
		return nil, fmt.Errorf("search hash prefix %s: %w", p, err)
	}
	slices.SortFunc(hashes, func(a, b plumbing.Hash) int { return strings.Compare(a.String(), b.String()) })
	var out []candidate
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), p) {
			continue
		}
		obj, err := repo.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("read object %s: %w", h, err)
		}
		if obj.Type() == plumbing.CommitObject {
			out = append(out, candidate{what: "commit " + h.String(), rev: h})
		}
	}
	return out, nil
}

// peel follows annotated tags from h to the commit they point at.
func peel(repo *git.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range maxTagDepth {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read object %s: %w", h, err)
		}
		switch o := obj.(type) {
		case *object.Commit:
			return h, nil
		case *object.Tag:
			h = o.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("%w: %s is a %s, not a commit", ErrUnknownRef, Short(h.String()), obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("more than %d tags pointing at tags", maxTagDepth)
}

// checkRefSyntax refuses what cannot be a ref name in git (see
// git-check-ref-format) and revision expressions, which Resolve does not
// evaluate. It also keeps a ref from naming a path outside refs/.
func checkRefSyntax(ref string) error {
	if ref == "" {
		return fmt.Errorf("%w: empty ref", ErrUnknownRef)
	}
	bad := ref == "@" ||
		strings.ContainsAny(ref, " ~^:?*[\\") ||
		strings.Contains(ref, "..") ||
		strings.Contains(ref, "@{") ||
		strings.Contains(ref, "//") ||
		strings.Contains(ref, "/.") ||
		strings.HasPrefix(ref, ".") ||
		strings.HasPrefix(ref, "-") ||
		strings.HasPrefix(ref, "/") ||
		strings.HasSuffix(ref, "/") ||
		strings.HasSuffix(ref, ".") ||
		strings.HasSuffix(ref, ".lock")
	for i := 0; i < len(ref) && !bad; i++ {
		bad = ref[i] < 0x20 || ref[i] == 0x7f
	}
	if bad {
		return fmt.Errorf("%w: not a valid ref name (revision expressions such as HEAD~1 are not supported)", ErrUnknownRef)
	}
	return nil
}

func isHex(s string) bool {
	return isLowerHex(strings.ToLower(s))
}
