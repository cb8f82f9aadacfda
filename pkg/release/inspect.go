package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// State is what Inspect found for one rev on a host.
type State int

// States of a rev on a host.
const (
	Absent  State = iota // no revs/<rev>
	Staged               // a complete release: deployctl's, whose files match its marker, or an adopted one
	Damaged              // revs/<rev> exists but is not a complete, intact release
)

// String returns "absent", "staged" or "damaged".
func (s State) String() string {
	switch s {
	case Absent:
		return "absent"
	case Staged:
		return "staged"
	case Damaged:
		return "damaged"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Status is a rev's state on one host.
type Status struct {
	State   State
	Reason  string // why it is Damaged
	Origin  Origin // for Staged: deployctl's own, or adopted
	Marker  Marker // for Staged; an adopted release has only its Rev
	Current bool   // current points at this rev
}

const inspectScript = "# deployctl inspect\n" + classifyFn + `d=$1
link=$(readlink "$2" 2>/dev/null) || link=
printf 'current %s\n' "$link"
classify "$d"
printf '%s\n' "$_found"
case $_found in
marker\ *)
	if [ -f "$d/` + ManifestName + `" ]; then echo manifest; cat "$d/` + ManifestName + `"; else echo nomanifest; fi
	;;
esac
`

// Inspect reports whether rev is staged on r's host. A release of
// deployctl's is staged when its marker names rev and its tree shows the
// counts its manifest records (a tree listing; no file is read); one with
// a marker but no manifest (laid out by hand or by the example fleet) is
// trusted. A revs/<rev> without a marker is adopted (Status.Origin): a
// git checkout whose HEAD is rev, or a plain directory, is Staged as it
// is, so staging sends nothing and never writes into it. A checkout at
// another commit is an error wrapping ErrForeignRelease, not Damaged:
// staging must not replace it.
func Inspect(ctx context.Context, r Runner, l Layout, rev string) (Status, error) {
	if err := check(l, rev); err != nil {
		return Status{}, err
	}
	fail := func(err error) (Status, error) {
		return Status{}, fmt.Errorf("inspect %s on %s: %w", gitsrc.Short(rev), r.Host(), err)
	}
	out, err := r.Run(ctx, nil, sshx.Script(inspectScript, l.Release(rev), l.Current())...)
	if err != nil {
		return fail(err)
	}
	lines := strings.SplitN(string(out), "\n", 4)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "current ") {
		return fail(fmt.Errorf("unexpected output %q", out))
	}
	var st Status
	if cur, err := revFromLink(strings.TrimPrefix(lines[0], "current ")); err == nil && cur == rev {
		st.Current = true
	}
	f, err := parseFound(lines[1])
	if err != nil {
		return fail(err)
	}
	o, err := f.origin(l.Release(rev), rev)
	var nr *notRelease
	switch {
	case errors.Is(err, errAbsent):
		st.State = Absent
		return st, nil
	case errors.As(err, &nr):
		return damaged(st, nr.reason), nil
	case err != nil:
		return fail(err)
	}
	m := Marker{Rev: rev}
	if o == OriginDeployctl && lines[2] == "manifest" {
		rest := ""
		if len(lines) == 4 {
			rest = lines[3]
		}
		if m.Manifest, m.StagedAt, err = parseManifest(rest); err != nil {
			return damaged(st, err.Error()), nil
		}
		got, err := listTree(ctx, r, l.Release(rev))
		if err != nil {
			return fail(err)
		}
		if got != m.Manifest.Counts {
			return damaged(st, fmt.Sprintf("files changed since staging: tree has %s, manifest records %s", got, m.Manifest.Counts)), nil
		}
	}
	st.State = Staged
	st.Origin = o
	st.Marker = m
	return st, nil
}

func damaged(st Status, reason string) Status {
	st.State = Damaged
	st.Reason = reason
	return st
}

// listTree counts the entries under dir on the host.
func listTree(ctx context.Context, r Runner, dir string) (Counts, error) {
	var lc listCounter
	if err := r.Stream(ctx, nil, &lc, listArgv(dir)...); err != nil {
		return Counts{}, fmt.Errorf("list %s: %w", dir, err)
	}
	c, err := lc.counts()
	if err != nil {
		return Counts{}, fmt.Errorf("list %s: %w", dir, err)
	}
	return c, nil
}

// check validates the layout and rev every operation starts from.
func check(l Layout, rev string) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return ValidRev(rev)
}
