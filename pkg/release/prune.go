package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// ErrKeep is a keep_releases below 1.
var ErrKeep = errors.New("keep must be at least 1")

// listScript prints what current points at, then one line per entry of
// revs/: its age (the marker's mtime, or the entry's own) and its name.
const listScript = `# deployctl list releases
base=$1
printf 'current %s\n' "$(readlink "$base/` + CurrentName + `" 2>/dev/null)"
cd "$base/` + RevsDir + `" 2>/dev/null || exit 0
for e in *; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	if [ -f "$e/` + MarkerName + `" ]; then t=$(stat -c %Y -- "$e/` + MarkerName + `"); else t=$(stat -c %Y -- "$e"); fi
	printf 'entry %s %s\n' "$t" "$e"
done
`

const removeScript = "# deployctl prune\n" + rmtree + `set -eu
cd "$1/` + RevsDir + `"
shift
for e in "$@"; do rmtree "$e"; done
`

// Prune removes old releases on r's host: it keeps the keep newest (by
// staging time), and always current and every rev in protect (the last
// good one), even beyond keep; it removes every leftover .partial and .old.
// Releases adopted from another tool (see Origin) count like deployctl's
// own, aged by their directory's mtime, as they have no marker. Entries of
// revs/ not named by a rev are left alone. It returns the names it removed.
func Prune(ctx context.Context, r Runner, l Layout, keep int, protect ...string) ([]string, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if keep < 1 {
		return nil, fmt.Errorf("prune: %w (got %d)", ErrKeep, keep)
	}
	out, err := r.Run(ctx, nil, sshx.Script(listScript, l.Base())...)
	if err != nil {
		return nil, fmt.Errorf("prune on %s: %w", r.Host(), err)
	}
	remove, err := pruneList(string(out), keep, protect)
	if err != nil {
		return nil, fmt.Errorf("prune on %s: %w", r.Host(), err)
	}
	if len(remove) == 0 {
		return nil, nil
	}
	if _, err := r.Run(ctx, nil, sshx.Script(removeScript, append([]string{l.Base()}, remove...)...)...); err != nil {
		return nil, fmt.Errorf("prune on %s: %w", r.Host(), err)
	}
	return remove, nil
}

// pruneList decides, from listScript's output, which entries to remove.
func pruneList(out string, keep int, protect []string) ([]string, error) {
	type release struct {
		rev string
		age int64
	}
	var releases []release
	var remove []string
	kept := map[string]bool{}
	for _, p := range protect {
		kept[p] = true
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if cur, ok := strings.CutPrefix(line, "current "); ok {
			if rev, err := revFromLink(cur); err == nil {
				kept[rev] = true
			}
			continue
		}
		rest, ok := strings.CutPrefix(line, "entry ")
		if !ok {
			continue // a name with a newline in it: not ours
		}
		ts, name, ok := strings.Cut(rest, " ")
		age, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("unexpected listing line %q", line)
		}
		base, suffix := name, ""
		if i := strings.IndexByte(name, '.'); i >= 0 {
			base, suffix = name[:i], name[i:]
		}
		if ValidRev(base) != nil {
			continue
		}
		switch suffix {
		case "":
			releases = append(releases, release{base, age})
		case PartialSuffix, OldSuffix:
			remove = append(remove, name)
		}
	}
	slices.SortFunc(releases, func(a, b release) int {
		return cmp.Or(cmp.Compare(b.age, a.age), strings.Compare(a.rev, b.rev))
	})
	for i, rel := range releases {
		if i >= keep && !kept[rel.rev] {
			remove = append(remove, rel.rev)
		}
	}
	return remove, nil
}
