package configset

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// DefaultKeep is how many config versions Prune keeps when asked for 0.
const DefaultKeep = 5

// listScript prints "<mtime> <name>" for each entry of the configs
// directory $1 (nothing when it does not exist).
const listScript = `cd -- "$1" 2>/dev/null || exit 0
for e in *; do
  if [ -e "$e" ] || [ -L "$e" ]; then printf '%s %s\n' "$(stat -c %Y -- "$e")" "$e"; fi
done
`

const pruneScript = `cd -- "$1"
shift
for n in "$@"; do rm -rf -- "$n"; done
`

var pruneName = regexp.MustCompile(`^([0-9a-f]{16})(\.partial|\.old)?$`)

// Prune removes config versions from r's host, keeping the keep most
// recently shipped or linked ones (0 means DefaultKeep), the current one
// and every protected one (the last good version; "" is ignored). Every
// .partial and .old left by an interrupted ship goes too. It returns the
// names it removed.
func Prune(ctx context.Context, r Runner, base string, keep int, protect ...string) ([]string, error) {
	l, err := newLayout(base)
	if err != nil {
		return nil, fmt.Errorf("prune config: %w", err)
	}
	if keep < 0 {
		return nil, fmt.Errorf("prune config: keep %d must not be negative", keep)
	}
	if keep == 0 {
		keep = DefaultKeep
	}
	kept := map[string]bool{}
	for _, v := range protect {
		if v == "" {
			continue
		}
		if err := ValidVersion(v); err != nil {
			return nil, fmt.Errorf("prune config: protect: %w", err)
		}
		kept[v] = true
	}
	cur, err := current(ctx, r, l)
	if err != nil {
		return nil, fmt.Errorf("prune config: %w", err)
	}
	if cur != "" {
		kept[cur] = true
	}
	out, err := r.Run(ctx, nil, sshx.Script(listScript, l.configs())...)
	if err != nil {
		return nil, fmt.Errorf("prune config: list %s: %w", l.configs(), err)
	}
	type version struct {
		name  string
		mtime int64
	}
	var versions []version
	var remove []string
	for line := range strings.Lines(string(out)) {
		mt, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		t, err := strconv.ParseInt(mt, 10, 64)
		m := pruneName.FindStringSubmatch(name)
		if !ok || err != nil || m == nil {
			continue // current, a temporary link, or not ours
		}
		if m[2] != "" {
			remove = append(remove, name)
			continue
		}
		versions = append(versions, version{name, t})
	}
	slices.SortFunc(versions, func(a, b version) int {
		return cmp.Or(cmp.Compare(b.mtime, a.mtime), strings.Compare(a.name, b.name))
	})
	for i, v := range versions {
		if i >= keep && !kept[v.name] {
			remove = append(remove, v.name)
		}
	}
	if len(remove) == 0 {
		return nil, nil
	}
	if _, err := r.Run(ctx, nil, sshx.Script(pruneScript, append([]string{l.configs()}, remove...)...)...); err != nil {
		return nil, fmt.Errorf("prune config: remove %s: %w", strings.Join(remove, " "), err)
	}
	return remove, nil
}
