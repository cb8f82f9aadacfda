package gitsrc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// mirrorRefSpecs copy the remote's branches and tags to the same names in
// the cache, replacing what was there.
var mirrorRefSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
}

// fetch brings repo's branches and tags in line with the remote at rawURL
// and points repo's HEAD at the remote's default branch. The remote is built
// in memory, so the URL (and any credentials in it) never reaches the
// cache's config file.
func fetch(ctx context.Context, repo *git.Repository, rawURL string) error {
	installBoundedSSH()
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	remote := git.NewRemote(repo.Storer, &config.RemoteConfig{
		Name:  git.DefaultRemoteName,
		URLs:  []string{rawURL},
		Fetch: mirrorRefSpecs,
	})
	refs, err := remote.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return err
	}
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: mirrorRefSpecs,
		Tags:     git.NoTags, // the refspec already takes every tag
		Force:    true,
		Prune:    true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return err
	}
	for _, ref := range refs {
		if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
			return repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref.Target()))
		}
	}
	return nil
}

// IsURL reports whether Open takes repo as a remote rather than a local
// path: it has a scheme (https://, ssh://, file://) or is scp-like
// (git@host:path or host:path, where a colon comes before any slash). Write
// ./a:b for a local directory named "a:b".
func IsURL(repo string) bool {
	if strings.Contains(repo, "://") {
		return true
	}
	i := strings.IndexByte(repo, ':')
	return i > 0 && !strings.Contains(repo[:i], "/")
}

// redact removes credentials from a URL for messages and for the cache
// name: the password always, and for http(s) the user name too, since
// access tokens are often passed as the user name.
func redact(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw // a path or scp-like user@host:path, which has no password
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Cut out anything between the scheme and an '@' rather than risk
		// showing a secret.
		scheme, rest, _ := strings.Cut(raw, "://")
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest = rest[at+1:]
		}
		return scheme + "://" + rest
	}
	if u.User == nil {
		return raw
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		u.User = nil
	} else if _, hasPassword := u.User.Password(); hasPassword {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// secrets returns the credentials in a URL that redact removes, as written
// and decoded, longest first.
func secrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	var out []string
	if u.Scheme == "http" || u.Scheme == "https" {
		out = append(out, u.User.Username())
	}
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	encUser, encPassword, _ := strings.Cut(u.User.String(), ":")
	if u.Scheme == "http" || u.Scheme == "https" {
		out = append(out, encUser)
	}
	out = append(out, encPassword)
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// scrubbedError hides credentials that a lower layer (an HTTP client error
// quoting the URL) may have put in an error's text, and keeps the error
// for errors.Is.
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

func (e *scrubbedError) Unwrap() error { return e.err }

// scrub wraps err so that its text shows none of the credentials in rawURL.
func scrub(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	if s := secrets(rawURL); len(s) > 0 {
		return &scrubbedError{err: err, secrets: s}
	}
	return err
}

// cacheName names the cache directory of a URL: its last path element, for
// the people who look in the cache directory, then a hash of the URL
// without credentials, so that a rotated token keeps the same cache.
func cacheName(rawURL string) string {
	clean := redact(rawURL)
	sum := sha256.Sum256([]byte(clean))
	base := strings.TrimRight(clean, "/")
	if i := strings.LastIndexAny(base, ":/"); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, ".git")
	var b strings.Builder
	for _, c := range base {
		if b.Len() >= 40 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name == "" {
		name = "repo"
	}
	return name + "-" + hex.EncodeToString(sum[:8]) + ".git"
}
