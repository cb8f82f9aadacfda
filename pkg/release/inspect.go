package release

import (
	"context"
	"fmt"
	"strings"
)

// State is what Inspect found for one rev on a host.
type State int

// States of a rev on a host.
const (
	Absent  State = iota // no revs/<rev>
	Staged               // a complete release whose files match its marker
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
	Marker  Marker // for Staged
	Current bool   // current points at this rev
}

const inspectScript = `# deployctl inspect
d=$1
link=$(readlink "$2" 2>/dev/null) || link=
printf 'current %s\n' "$link"
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo notdir; exit 0; fi
if [ ! -e "$d" ]; then echo absent; exit 0; fi
if [ ! -f "$d/` + MarkerName + `" ]; then echo nomarker; exit 0; fi
first=
IFS= read -r first < "$d/` + MarkerName + `" || true
printf 'marker %s\n' "$first"
if [ -f "$d/` + ManifestName + `" ]; then echo manifest; cat "$d/` + ManifestName + `"; else echo nomanifest; fi
`

// Inspect reports whether rev is staged on r's host: revs/<rev> exists,
// its marker names rev, and its tree shows the counts its manifest
// records (a tree listing; no file is read). A release with a marker but
// no manifest (laid out by hand or by the example fleet) is trusted.
func Inspect(ctx context.Context, r Runner, l Layout, rev string) (Status, error) {
	if err := check(l, rev); err != nil {
		return Status{}, err
	}
	out, err := r.Run(ctx, nil, sh(inspectScript, l.Release(rev), l.Current())...)
	if err != nil {
		return Status{}, fmt.Errorf("inspect %s: %w", short(rev), err)
	}
	lines := strings.SplitN(string(out), "\n", 4)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "current ") {
		return Status{}, fmt.Errorf("inspect %s: unexpected output %q", short(rev), out)
	}
	var st Status
	if cur, err := revFromLink(strings.TrimPrefix(lines[0], "current ")); err == nil && cur == rev {
		st.Current = true
	}
	switch {
	case lines[1] == "absent":
		st.State = Absent
		return st, nil
	case lines[1] == "notdir":
		return damaged(st, "not a directory"), nil
	case lines[1] == "nomarker":
		return damaged(st, "no "+MarkerName+" (an interrupted or foreign copy)"), nil
	case !strings.HasPrefix(lines[1], "marker ") || len(lines) < 3:
		return Status{}, fmt.Errorf("inspect %s: unexpected output %q", short(rev), out)
	}
	var m Marker
	if m.Rev, err = parseRev(strings.TrimPrefix(lines[1], "marker ")); err != nil {
		return damaged(st, err.Error()), nil
	}
	if m.Rev != rev {
		return damaged(st, fmt.Sprintf("marker names rev %s", m.Rev)), nil
	}
	if lines[2] == "manifest" {
		rest := ""
		if len(lines) == 4 {
			rest = lines[3]
		}
		if m.Manifest, m.StagedAt, err = parseManifest(rest); err != nil {
			return damaged(st, err.Error()), nil
		}
		got, err := listTree(ctx, r, l.Release(rev))
		if err != nil {
			return Status{}, fmt.Errorf("inspect %s: %w", short(rev), err)
		}
		if got != m.Manifest.Counts {
			return damaged(st, fmt.Sprintf("files changed since staging: tree has %s, manifest records %s", got, m.Manifest.Counts)), nil
		}
	}
	st.State = Staged
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
