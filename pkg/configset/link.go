package configset

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// linkScript: $1 is the configs directory, $2 the version, $3 the number
// N of links; then N pairs of target and path; then the paths of the
// previous version to unlink. Each link is a symlink under a temporary
// name in the path's directory, renamed over the path. A previous link is
// removed only when it is a symlink into the configs directory. current
// moves last, so it names the last version linked completely.
const linkScript = `set -e
c=$1 v=$2 n=$3
shift 3
while [ "$n" -gt 0 ]; do
  t=$1 p=$2
  shift 2
  n=$((n - 1))
  d=$(dirname -- "$p")
  mkdir -p -- "$d"
  tmp=$d/.deployctl-link.$$
  rm -f -- "$tmp"
  ln -s -- "$t" "$tmp"
  mv -T -- "$tmp" "$p" || { rm -f -- "$tmp"; exit 1; }
done
for p in "$@"; do
  if [ -L "$p" ]; then
    case $(readlink -- "$p") in "$c"/*) rm -f -- "$p" ;; esac
  fi
done
touch -c -- "$c/$v"
tmp=$c/.deployctl-current.$$
rm -f -- "$tmp"
ln -s -- "$v" "$tmp"
mv -T -- "$tmp" "$c/` + CurrentName + `"
`

// Link makes each file's path a symlink to its copy in
// <base>/configs/<version>/ (which Ship put there; Link checks it is
// intact first), creating the path's directory when needed, and records
// the version as current. Links of the previous current version whose
// paths set no longer has are removed.
func Link(ctx context.Context, r Runner, base string, set *Set) error {
	l, err := newLayout(base)
	if err != nil {
		return fmt.Errorf("link config: %w", err)
	}
	entries, err := set.check()
	if err != nil {
		return fmt.Errorf("link config: %w", err)
	}
	if err := verify(ctx, r, l.version(set.Version), entries); err != nil {
		return fmt.Errorf("link config %s: %w", set.Version, err)
	}
	return link(ctx, r, l, set.Version, entries)
}

// LinkVersion is Link for a version already on the host, read from its
// manifest: how a rollback restores the last good config with nothing to
// render or send.
func LinkVersion(ctx context.Context, r Runner, base, version string) error {
	l, err := newLayout(base)
	if err != nil {
		return fmt.Errorf("link config: %w", err)
	}
	entries, err := readManifest(ctx, r, l, version)
	if err != nil {
		return fmt.Errorf("link config %s: %w", version, err)
	}
	if err := verify(ctx, r, l.version(version), entries); err != nil {
		return fmt.Errorf("link config %s: %w", version, err)
	}
	return link(ctx, r, l, version, entries)
}

func link(ctx context.Context, r Runner, l layout, v string, entries []entry) error {
	keep := map[string]bool{}
	args := []string{l.configs(), v, strconv.Itoa(len(entries))}
	for _, e := range entries {
		if l.inside(e.path) {
			return fmt.Errorf("link config %s: path %s is inside %s", v, e.path, l.configs())
		}
		keep[e.path] = true
		args = append(args, l.file(v, e.name), e.path)
	}
	prev, err := current(ctx, r, l)
	if err != nil {
		return fmt.Errorf("link config %s: %w", v, err)
	}
	if prev != "" && prev != v {
		old, err := readManifest(ctx, r, l, prev)
		if err != nil {
			// Its links stay; they are harmless until prune removes
			// the version they point into.
			slog.Warn("config links of the previous version are left in place", "version", prev, "err", err)
		}
		for _, e := range old {
			if !keep[e.path] {
				args = append(args, e.path)
			}
		}
	}
	if _, err := r.Run(ctx, nil, sshx.Script(linkScript, args...)...); err != nil {
		return fmt.Errorf("link config %s: %w", v, err)
	}
	return nil
}

// readManifest returns the entries of version v on the host, after
// checking that the manifest is the one v names.
func readManifest(ctx context.Context, r Runner, l layout, v string) ([]entry, error) {
	if err := ValidVersion(v); err != nil {
		return nil, err
	}
	p := l.file(v, ManifestName)
	out, err := r.Run(ctx, nil, "cat", "--", p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if got := versionOf(out); got != v {
		return nil, fmt.Errorf("%w: %s names version %s", ErrVerify, p, got)
	}
	entries, err := parseManifest(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrVerify, p, err)
	}
	return entries, nil
}

const currentScript = `if [ -L "$1" ]; then exec readlink -- "$1"; fi
if [ -e "$1" ]; then echo "$1 is not a symlink" >&2; exit 1; fi
`

// Current returns the live config version on r's host: the one last
// linked completely, or "" when none has been.
func Current(ctx context.Context, r Runner, base string) (string, error) {
	l, err := newLayout(base)
	if err != nil {
		return "", fmt.Errorf("current config: %w", err)
	}
	v, err := current(ctx, r, l)
	if err != nil {
		return "", fmt.Errorf("current config: %w", err)
	}
	return v, nil
}

func current(ctx context.Context, r Runner, l layout) (string, error) {
	out, err := r.Run(ctx, nil, sshx.Script(currentScript, l.current())...)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", l.current(), err)
	}
	target := strings.TrimSuffix(string(out), "\n")
	if target == "" {
		return "", nil
	}
	v := target[strings.LastIndexByte(target, '/')+1:]
	if ValidVersion(v) != nil {
		return "", fmt.Errorf("%s points at %q, not at a config version", l.current(), target)
	}
	return v, nil
}

// CurrentPaths returns the host paths the live config version links, so
// that a diff can show the files a new version no longer has (nil when no
// version is live).
func CurrentPaths(ctx context.Context, r Runner, base string) ([]string, error) {
	l, err := newLayout(base)
	if err != nil {
		return nil, fmt.Errorf("current config: %w", err)
	}
	v, err := current(ctx, r, l)
	if err != nil {
		return nil, fmt.Errorf("current config: %w", err)
	}
	if v == "" {
		return nil, nil
	}
	entries, err := readManifest(ctx, r, l, v)
	if err != nil {
		return nil, fmt.Errorf("current config %s: %w", v, err)
	}
	paths := make([]string, len(entries))
	for i, e := range entries {
		paths[i] = e.path
	}
	return paths, nil
}
