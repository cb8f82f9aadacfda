package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// Errors of Activate and Current.
var (
	// ErrNotStaged: the rev to activate has no complete release.
	ErrNotStaged = errors.New("release not staged")
	// ErrNoCurrent: the app has no current symlink yet.
	ErrNoCurrent = errors.New("no current release")
)

// notStagedCode is the exit status activateScript uses for ErrNotStaged.
const notStagedCode = 3

// activateScript points current at revs/<rev> atomically: a symlink under
// a temporary name, renamed over current (rename(2) replaces a symlink in
// one step, so current never dangles or disappears). It refuses a release
// without a marker naming rev, the sign of a complete staging.
const activateScript = `# deployctl activate
set -eu
base=$1 rev=$2
m="$base/revs/$rev/` + MarkerName + `"
first=
[ -f "$m" ] && IFS= read -r first < "$m" || true
if [ "$first" != "$rev" ]; then
	echo "revs/$rev is not a staged release" >&2
	exit 3
fi
cd "$base"
tmp=".current.tmp.$$"
rm -f .current.tmp.*
ln -s "revs/$rev" "$tmp"
mv -T "$tmp" ` + CurrentName + `
`

// Activate makes rev the current release on r's host. It sends nothing
// but a command: rollback is Activate of the last good rev.
func Activate(ctx context.Context, r Runner, l Layout, rev string) error {
	if err := check(l, rev); err != nil {
		return err
	}
	_, err := r.Run(ctx, nil, sh(activateScript, l.Base(), rev)...)
	var xe *sshx.ExitError
	if errors.As(err, &xe) && xe.Code == notStagedCode {
		return fmt.Errorf("activate %s on %s: %w", short(rev), r.Host(), ErrNotStaged)
	}
	if err != nil {
		return fmt.Errorf("activate %s on %s: %w", short(rev), r.Host(), err)
	}
	return nil
}

const currentScript = `# deployctl current
c=$1
if [ ! -L "$c" ]; then
	if [ -e "$c" ]; then echo notlink; else echo none; fi
	exit 0
fi
printf 'link %s\n' "$(readlink "$c")"
if [ -f "$c/` + MarkerName + `" ]; then echo marker; head -n 1 "$c/` + MarkerName + `"; else echo nomarker; fi
`

// Current returns the rev that current points at on r's host, checked
// against that release's marker (a marker holding only the rev, as the
// example fleet writes, is fine). No current yet is ErrNoCurrent.
func Current(ctx context.Context, r Runner, l Layout) (string, error) {
	if err := l.Validate(); err != nil {
		return "", err
	}
	out, err := r.Run(ctx, nil, sh(currentScript, l.Current())...)
	if err != nil {
		return "", fmt.Errorf("current on %s: %w", r.Host(), err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	switch {
	case lines[0] == "none":
		return "", fmt.Errorf("current on %s: %w", r.Host(), ErrNoCurrent)
	case lines[0] == "notlink":
		return "", fmt.Errorf("current on %s: %s is not a symlink", r.Host(), l.Current())
	case len(lines) < 2 || !strings.HasPrefix(lines[0], "link "):
		return "", fmt.Errorf("current on %s: unexpected output %q", r.Host(), out)
	}
	rev, err := revFromLink(strings.TrimPrefix(lines[0], "link "))
	if err != nil {
		return "", fmt.Errorf("current on %s: %w", r.Host(), err)
	}
	if lines[1] != "marker" || len(lines) < 3 {
		return "", fmt.Errorf("current on %s: %w: revs/%s has no %s", r.Host(), ErrVerify, rev, MarkerName)
	}
	if got := strings.TrimSpace(lines[2]); got != rev {
		return "", fmt.Errorf("current on %s: %w: revs/%s has a marker for %q", r.Host(), ErrVerify, rev, got)
	}
	return rev, nil
}
