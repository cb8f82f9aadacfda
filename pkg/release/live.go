package release

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// Errors of Live and Current.
var (
	// ErrNoCurrent: the app has no current symlink yet.
	ErrNoCurrent = errors.New("no current release")
	// ErrForeignCurrent: current is not a symlink into revs/ (another
	// tool's layout: a real directory, or a link to /opt/app). deployctl
	// could not roll back to it, so it refuses to start from it; the
	// message says how to move it into the layout.
	ErrForeignCurrent = errors.New("foreign current")
	// ErrDanglingCurrent: current links to revs/<rev>, which is not there.
	ErrDanglingCurrent = errors.New("dangling current")
)

// LiveRelease is the release current points at on a host.
type LiveRelease struct {
	Rev    string // the release's rev
	Origin Origin // who laid it out
	Link   string // current's target as read: revs/<rev>, or an absolute path to it
}

// currentScript reports current in one command: what it is (none, not a
// link, or the link's target), what classify finds where it leads, and
// whether that is the very revs/<name> of this app (an absolute link may
// lead into another app's revs/, which deployctl could not roll back to).
const currentScript = "# deployctl current\n" + classifyFn + `c=$1 revs=$2
if [ ! -L "$c" ]; then
	if [ -e "$c" ]; then
		echo notlink
		classify "$c"
		printf '%s\n' "$_found"
	else
		echo none
	fi
	exit 0
fi
link=$(readlink "$c")
printf 'link %s\n' "$link"
case $link in
/*) d=$link ;;
*) d=${c%/*}/$link ;;
esac
classify "$d"
printf '%s\n' "$_found"
n=${link%/}
n=${n##*/}
if [ -n "$n" ] && [ -e "$revs/$n" ] && [ "$d" -ef "$revs/$n" ]; then echo inside; else echo outside; fi
`

// Live returns what current points at on r's host, in one command: the
// rev and the origin of that release, checked as Inspect checks it (a
// marker naming the rev, or an adopted directory; a checkout's HEAD must
// be its rev). No current yet is ErrNoCurrent; a current deployctl cannot
// switch from is ErrForeignCurrent or ErrDanglingCurrent, saying what to
// do about it.
func Live(ctx context.Context, r Runner, l Layout) (LiveRelease, error) {
	if err := l.Validate(); err != nil {
		return LiveRelease{}, err
	}
	revs := path.Join(l.Base(), RevsDir)
	out, err := r.Run(ctx, nil, sshx.Script(currentScript, l.Current(), revs)...)
	if err != nil {
		return LiveRelease{}, fmt.Errorf("current on %s: %w", r.Host(), err)
	}
	fail := func(err error) (LiveRelease, error) {
		return LiveRelease{}, fmt.Errorf("current on %s: %w", r.Host(), err)
	}
	unexpected := fmt.Errorf("unexpected output %q", out)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	switch {
	case len(lines) == 1 && lines[0] == "none":
		return fail(ErrNoCurrent)
	case len(lines) == 2 && lines[0] == "notlink":
		f, err := parseFound(lines[1])
		if err != nil {
			return fail(err)
		}
		return fail(notLink(l, f))
	case len(lines) != 3 || !strings.HasPrefix(lines[0], "link "):
		return fail(unexpected)
	}
	link := strings.TrimPrefix(lines[0], "link ")
	f, err := parseFound(lines[1])
	if err != nil {
		return fail(err)
	}
	rev, err := revFromLink(link)
	if err != nil || (f.kind != "absent" && lines[2] != "inside") {
		return fail(outsideRevs(l, link, f))
	}
	dir := l.Release(rev)
	o, err := f.origin(dir, rev)
	switch {
	case errors.Is(err, errAbsent):
		return fail(fmt.Errorf("%w: %s points at %s, which does not exist: point it at a release that does (ln -sfn %s/<full rev> %s), or remove it and run the first rollout with --initial",
			ErrDanglingCurrent, l.Current(), link, RevsDir, l.Current()))
	case err != nil:
		return fail(fmt.Errorf("%s: %w", dir, err))
	}
	return LiveRelease{Rev: rev, Origin: o, Link: link}, nil
}

// Current returns the rev that current points at on r's host (see Live).
func Current(ctx context.Context, r Runner, l Layout) (string, error) {
	lr, err := Live(ctx, r, l)
	return lr.Rev, err
}

// outsideRevs explains a current that links out of revs/, with f what is
// at its target.
func outsideRevs(l Layout, link string, f found) error {
	rev := f.revHint()
	what := ""
	if f.kind == "absent" {
		what = " (which does not exist)"
	}
	return fmt.Errorf("%w: %s points at %s%s, not into %s/%s: deployctl switches only between releases there; move that release to %s and point current at it (ln -sfn %s/%s %s), or remove current and run the first rollout with --initial",
		ErrForeignCurrent, l.Current(), link, what, l.Base(), RevsDir, l.Release(rev), RevsDir, rev, l.Current())
}

// notLink explains a current that is a real directory (or file), with f
// what is in it.
func notLink(l Layout, f found) error {
	what := "a directory"
	if f.kind == "notdir" {
		what = "a file"
	}
	rev := f.revHint()
	return fmt.Errorf("%w: %s is %s, not a symlink: deployctl switches releases by renaming a new symlink over current, so current must be one; move it into the layout (mv %s %s && ln -s %s/%s %s), or remove it and run the first rollout with --initial",
		ErrForeignCurrent, l.Current(), what, l.Current(), l.Release(rev), RevsDir, rev, l.Current())
}
