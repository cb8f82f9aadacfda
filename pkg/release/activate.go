package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// ErrNotStaged: the rev to activate has no complete release.
var ErrNotStaged = errors.New("release not staged")

// notStagedCode is the exit status activateScript refuses with; its
// stdout then holds classify's report, which says why.
const notStagedCode = 3

// activateScript points current at revs/<rev> atomically: a symlink under
// a temporary name, renamed over current (rename(2) replaces a symlink in
// one step, so current never dangles or disappears). It refuses what is
// not a release of rev: it needs a marker naming rev (the sign of a
// complete staging), or an adopted directory (a checkout whose HEAD is
// rev, or a plain one). The check and the switch are one command, and
// nothing inside the release is written.
const activateScript = "# deployctl activate\n" + classifyFn + `set -eu
base=$1 rev=$2
classify "$base/revs/$rev"
case $_found in
"marker $rev" | "git $rev" | dir) ;;
*)
	printf '%s\n' "$_found"
	echo "revs/$rev is not a release of $rev" >&2
	exit 3
	;;
esac
cd "$base"
tmp=".current.tmp.$$"
rm -f .current.tmp.*
ln -s "revs/$rev" "$tmp"
mv -T "$tmp" ` + CurrentName + `
`

// Activate makes rev the current release on r's host, current linking
// to revs/<rev> (relative, so the tree may be moved). It sends nothing but
// a command: rollback is Activate of the last good rev. A checkout at
// another commit is ErrForeignRelease; anything else that is no release
// of rev is ErrNotStaged.
func Activate(ctx context.Context, r Runner, l Layout, rev string) error {
	if err := check(l, rev); err != nil {
		return err
	}
	out, err := r.Run(ctx, nil, sshx.Script(activateScript, l.Base(), rev)...)
	var xe *sshx.ExitError
	if errors.As(err, &xe) && xe.Code == notStagedCode {
		return fmt.Errorf("activate %s on %s: %w", gitsrc.Short(rev), r.Host(), refusal(l, rev, string(out)))
	}
	if err != nil {
		return fmt.Errorf("activate %s on %s: %w", gitsrc.Short(rev), r.Host(), err)
	}
	return nil
}

// refusal says why activateScript refused rev, from what it printed.
func refusal(l Layout, rev, out string) error {
	line, _, _ := strings.Cut(out, "\n")
	f, err := parseFound(line)
	if err != nil {
		return ErrNotStaged
	}
	dir := l.Release(rev)
	_, err = f.origin(dir, rev)
	var nr *notRelease
	switch {
	case errors.Is(err, ErrForeignRelease):
		return err
	case errors.Is(err, errAbsent):
		return fmt.Errorf("%w: %s does not exist", ErrNotStaged, dir)
	case errors.As(err, &nr):
		return fmt.Errorf("%w: %s: %s", ErrNotStaged, dir, nr.reason)
	}
	// The script is stricter than parseRev (a marker line with spaces).
	return fmt.Errorf("%w: %s: %s", ErrNotStaged, dir, line)
}
