package release

import (
	"errors"
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// ErrForeignRelease is a release deployctl did not stage and cannot vouch
// for: a git checkout under revs/<rev> whose HEAD is another commit, or
// does not resolve. It is someone's work, so it is neither replaced nor
// activated; an operator moves it aside.
var ErrForeignRelease = errors.New("foreign release")

// classifyFn defines `classify DIR`, the one check every script makes of
// a release directory. It reads a few small files at most and sets
// _found to one line (see parseFound):
//
//	absent         nothing there
//	notdir         a symlink or a file, not a directory
//	marker <line>  deployctl's marker, and its first line
//	git <commit>   no marker, a .git: the commit HEAD resolves to, or ""
//	dir            no marker, no .git, something in it
//	empty          no marker, nothing in it
//
// HEAD is resolved from the files (detached: the commit itself; a
// symbolic ref through .git/<ref>, then .git/packed-refs) because a host
// may have no git; git is asked only when the files do not tell (a .git
// file of a worktree or submodule, say). sh has no local variables, hence
// the _names.
const classifyFn = `classify() {
	_d=${1%/}
	if [ -L "$_d" ] || { [ -e "$_d" ] && [ ! -d "$_d" ]; }; then _found=notdir; return 0; fi
	if [ ! -e "$_d" ]; then _found=absent; return 0; fi
	if [ -f "$_d/` + MarkerName + `" ]; then
		_l=
		IFS= read -r _l < "$_d/` + MarkerName + `" || true
		_found="marker $_l"
		return 0
	fi
	if [ -e "$_d/.git" ] || [ -L "$_d/.git" ]; then
		githead "$_d"
		_found="git $_head"
		return 0
	fi
	for _e in "$_d"/* "$_d"/.[!.]* "$_d"/..?*; do
		if [ -e "$_e" ] || [ -L "$_e" ]; then _found=dir; return 0; fi
	done
	# An unreadable directory may hold anything: never call it empty.
	if [ -r "$_d" ]; then _found=empty; else _found=dir; fi
	return 0
}
githead() {
	_g=$1/.git _head= _n=0
	if [ -f "$_g/HEAD" ]; then IFS= read -r _head < "$_g/HEAD" || true; fi
	while [ "$_n" -lt 5 ]; do
		case $_head in
		ref:*) ;;
		*) break ;;
		esac
		_ref=${_head#ref:} _head= _n=$((_n + 1))
		_ref=${_ref# }
		case $_ref in
		refs/*) ;;
		*) break ;;
		esac
		case $_ref in
		*..*) break ;;
		esac
		if [ -f "$_g/$_ref" ]; then
			IFS= read -r _head < "$_g/$_ref" || true
		elif [ -f "$_g/packed-refs" ]; then
			while read -r _s _r; do
				if [ "$_r" = "$_ref" ]; then _head=$_s; break; fi
			done < "$_g/packed-refs"
		fi
	done
	case $_head in
	'' | *[!0-9a-f]*) _head= ;;
	esac
	if [ -z "$_head" ] && command -v git >/dev/null 2>&1; then
		_head=$(git -C "$1" rev-parse --verify -q HEAD 2>/dev/null) || _head=
	fi
	return 0
}
`

// found is classify's report on one directory.
type found struct {
	kind string // absent, notdir, marker, git, dir or empty
	rev  string // the marker's first line, or the commit a checkout's HEAD resolves to
}

// parseFound reads the line classify sets.
func parseFound(line string) (found, error) {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "absent", "notdir", "dir", "empty":
		if rest == "" {
			return found{kind: kind}, nil
		}
	case "marker", "git":
		return found{kind: kind, rev: rest}, nil
	}
	return found{}, fmt.Errorf("unexpected release check %q", line)
}

// errAbsent is classify finding nothing; each caller says what that means.
var errAbsent = errors.New("absent")

// notRelease is what cannot be a complete release of the rev (no
// directory, an empty one, a marker naming another rev): deployctl may
// replace it, unless it is current. It is ErrVerify; the reason alone is
// what Inspect reports.
type notRelease struct{ reason string }

func (e *notRelease) Error() string { return ErrVerify.Error() + ": " + e.reason }
func (e *notRelease) Unwrap() error { return ErrVerify }

// origin says whether f, found at dir, is a release of rev, and who laid
// it out: a marker naming rev (deployctl), a git checkout whose HEAD is
// rev, or a plain directory that is not empty. Otherwise the error is
// errAbsent, a *notRelease, or ErrForeignRelease for a checkout of
// another commit (or of one that cannot be told), which is left alone.
//
// A revs/<rev> without a marker is never deployctl's own half-staging:
// the marker is written in the .partial, before the rename. So a
// directory without one was put there by another tool, and is trusted
// by its name, as that tool does; a checkout is also held to its HEAD.
func (f found) origin(dir, rev string) (Origin, error) {
	switch f.kind {
	case "absent":
		return "", errAbsent
	case "notdir":
		return "", &notRelease{"not a directory"}
	case "empty":
		return "", &notRelease{"empty, with no " + MarkerName}
	case "marker":
		got, err := parseRev(f.rev)
		if err != nil {
			return "", &notRelease{strings.TrimPrefix(err.Error(), ErrVerify.Error()+": ")}
		}
		if got != rev {
			return "", &notRelease{"marker names rev " + got}
		}
		return OriginDeployctl, nil
	case "git":
		if f.rev == rev {
			return OriginGit, nil
		}
		fix := fmt.Sprintf("move it aside (mv %s %s.aside) so that %s can be staged, or check it out at that commit (git -C %s checkout --detach %s)", dir, dir, gitsrc.Short(rev), dir, rev)
		if ValidRev(f.rev) != nil {
			return "", fmt.Errorf("%w: %s is a git checkout whose HEAD does not resolve to a commit, so it cannot be told to hold %s; deployctl does not replace a release it did not stage: %s", ErrForeignRelease, dir, rev, fix)
		}
		return "", fmt.Errorf("%w: %s is a git checkout at %s, not at %s as its name says; deployctl does not replace a release it did not stage: %s", ErrForeignRelease, dir, f.rev, rev, fix)
	case "dir":
		return OriginDir, nil
	}
	return "", fmt.Errorf("unexpected release check %q", f.kind)
}

// revHint is the rev f shows it holds, for advice in a message, or a
// placeholder.
func (f found) revHint() string {
	if (f.kind == "git" || f.kind == "marker") && ValidRev(strings.TrimSpace(f.rev)) == nil {
		return strings.TrimSpace(f.rev)
	}
	return "<full rev>"
}
