package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// fingerprintBytes is how many bytes before the recorded size are kept to
// recognise the same file content after the restart: a file truncated and
// written past its old size (copytruncate) has other bytes there.
const fingerprintBytes = 64

// Remote scripts. They are constants; every value is a positional argument.
const (
	// scriptLogSnapshot prints the host clock, then "dev:ino:size" of $1 (or
	// "absent"), then the last $2 bytes before that size.
	scriptLogSnapshot = `date +%s.%N
if [ ! -e "$1" ]; then echo absent; exit 0; fi
st=$(stat -L -c %d:%i:%s -- "$1") || exit 1
echo "$st"
size=${st##*:}
start=1
if [ "$size" -gt "$2" ]; then start=$((size - $2 + 1)); fi
tail -c +"$start" -- "$1" | head -c $((size - start + 1))`

	// scriptLogFiles prints "dev:ino:size:name" for $1 and its rotated
	// siblings ($1.1, $1-20260101...).
	scriptLogFiles = `for f in "$1" "$1".* "$1"-*; do
if [ -f "$f" ]; then stat -L -c %d:%i:%s:%n -- "$f" || true; fi
done`

	// scriptLogRead prints at most $3 bytes of $1 from byte $2 (1-based).
	scriptLogRead = `tail -c +"$2" -- "$1" | head -c "$3"`
)

// logProbe counts the matching entries a log file gained since the stop.
type logProbe struct {
	d Spec
	m *matcher
}

func newLogProbe(d Spec) (*logProbe, error) {
	m, err := newMatcher(d)
	if err != nil {
		return nil, err
	}
	return &logProbe{d: d, m: m}, nil
}

// fileID is a file's identity and size on the host.
type fileID struct {
	id   string // "dev:ino"
	size int64
	name string
}

// logSnapshot is the log file as it was before the stop.
type logSnapshot struct {
	path   string
	clock  time.Time // the host's clock
	absent bool
	file   fileID
	fp     []byte // the last bytes before file.size
	prior  tally  // relative: the last max_bytes before the stop
}

func (p *logProbe) prepare(ctx context.Context, e env) (any, error) {
	if e.t.Runner == nil {
		return nil, ErrNoRunner
	}
	path, err := hosttmpl.Expand(p.d.Path, e.vars)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	want := int64(fingerprintBytes)
	if p.d.Relative {
		want = max(want, p.d.MaxBytes)
	}
	out, err := e.t.Runner.Run(ctx, nil, "sh", "-c", scriptLogSnapshot, "sh", path, strconv.FormatInt(want, 10))
	if err != nil {
		return nil, fmt.Errorf("look at %s: %w", path, err)
	}
	clockLine, rest, _ := bytes.Cut(out, []byte("\n"))
	statLine, tailBytes, _ := bytes.Cut(rest, []byte("\n"))
	s := &logSnapshot{path: path}
	if s.clock, err = parseClock(string(clockLine)); err != nil {
		return nil, err
	}
	if string(statLine) == "absent" {
		s.absent = true
		return s, nil
	}
	f, err := parseFileID(string(statLine) + ":" + path)
	if err != nil {
		return nil, err
	}
	s.file = f
	s.fp = tailBytes[max(0, len(tailBytes)-fingerprintBytes):]
	if p.d.Relative {
		s.prior = p.m.scan(tailBytes)
	}
	return s, nil
}

func (p *logProbe) run(ctx context.Context, e env) (outcome, error) {
	s, ok := e.snap.(*logSnapshot)
	if !ok {
		return outcome{}, fmt.Errorf("baseline holds %T, not a log snapshot", e.snap)
	}
	if e.t.Runner == nil {
		return outcome{}, ErrNoRunner
	}
	r := &logReader{ctx: ctx, r: e.t.Runner, budget: p.d.MaxBytes}
	data, notes, err := r.sinceSnapshot(s)
	if err != nil {
		return outcome{}, err
	}
	var t tally
	for _, seg := range data {
		st := p.m.scan(seg)
		t.entries += st.entries
		t.matches += st.matches
		for _, sh := range st.shown {
			if len(t.shown) < maxShownEntries {
				t.shown = append(t.shown, sh)
			}
		}
	}
	return p.judge(s, t, notes)
}

// judge decides on what was counted since the stop.
func (p *logProbe) judge(s *logSnapshot, t tally, notes []string) (outcome, error) {
	what := matchWhat(p.d)
	saw := fmt.Sprintf("%s: %d of %d entries since %s (host clock) match %s (max_matches %d)",
		s.path, t.matches, t.entries, s.clock.UTC().Format(time.RFC3339), what, p.d.MaxMatches)
	if len(notes) > 0 {
		saw += "; " + strings.Join(notes, "; ")
	}
	if t.matches <= p.d.MaxMatches {
		return outcome{evidence: saw}, nil
	}
	if p.d.Relative {
		cmp := fmt.Sprintf("share %s since the stop vs %s before it (%d of %d entries)",
			pct(t.share()), pct(s.prior.share()), s.prior.matches, s.prior.entries)
		if !worse(t.share(), s.prior.share(), p.d.MaxIncrease, p.d.MaxIncreaseRatio) {
			return outcome{evidence: saw + "; but " + cmp + ", not worse by more than " + increaseWhat(p.d)}, nil
		}
		saw += "; " + cmp + ", worse by more than " + increaseWhat(p.d)
	}
	return outcome{}, fmt.Errorf("%w: %s; first:\n%s", ErrFailed, saw, indent(strings.Join(t.shown, "\n")))
}

// logReader reads what a log file gained since a snapshot, within a byte
// budget, following rotation (rename and a new file) and truncation.
type logReader struct {
	ctx    context.Context
	r      Runner
	budget int64
}

// sinceSnapshot returns the new bytes, one slice per file, and notes on
// what could not be read.
func (lr *logReader) sinceSnapshot(s *logSnapshot) ([][]byte, []string, error) {
	out, err := lr.r.Run(lr.ctx, nil, "sh", "-c", scriptLogFiles, "sh", s.path)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", s.path, err)
	}
	var cur, old *fileID
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f, err := parseFileID(line)
		if err != nil {
			return nil, nil, err
		}
		if f.name == s.path {
			cur = &f
		}
		if !s.absent && f.id == s.file.id && (old == nil || f.name == s.path) {
			old = &f
		}
	}
	var data [][]byte
	var notes []string
	total := int64(0)
	switch {
	case s.absent:
		notes = append(notes, "the file did not exist before the stop")
	case old == nil:
		notes = append(notes, fmt.Sprintf("the file of before the stop (%s) is gone, rotated away or deleted: what it gained after the snapshot was not read", s.file.id))
	case old.size < s.file.size:
		notes = append(notes, fmt.Sprintf("truncated from %d to %d bytes: read from the start", s.file.size, old.size))
		b, err := lr.read(old.name, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		data, total = append(data, b), total+old.size
	default:
		if old.name != s.path {
			notes = append(notes, "rotated to "+old.name)
		}
		b, err := lr.read(old.name, s.file.size, s.fp)
		if errors.Is(err, errFingerprint) {
			notes = append(notes, "rewritten since the snapshot (truncated and refilled): read from the start")
			b, err = lr.read(old.name, 0, nil)
			total += old.size
		} else {
			total += old.size - s.file.size
		}
		if err != nil {
			return nil, nil, err
		}
		data = append(data, b)
	}
	switch {
	case cur == nil && old == nil:
		return nil, nil, fmt.Errorf("%w: log file %s does not exist", ErrFailed, s.path)
	case cur == nil:
		notes = append(notes, s.path+" does not exist now")
	case s.absent || cur.id != s.file.id:
		if !s.absent {
			notes = append(notes, fmt.Sprintf("new file %s since the stop", cur.id))
		}
		b, err := lr.read(cur.name, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		data, total = append(data, b), total+cur.size
	}
	if lr.budget <= 0 {
		notes = append(notes, fmt.Sprintf("read only the first max_bytes of about %d new bytes", total))
	}
	return data, notes, nil
}

// errFingerprint: the bytes before the old size are not the ones recorded.
var errFingerprint = errors.New("fingerprint differs")

// read returns up to the remaining budget of name's bytes from offset. With
// a fingerprint, it first checks that the bytes just before offset are fp.
func (lr *logReader) read(name string, offset int64, fp []byte) ([]byte, error) {
	if lr.budget <= 0 {
		return nil, nil
	}
	from := offset - int64(len(fp))
	out, err := lr.r.Run(lr.ctx, nil, "sh", "-c", scriptLogRead, "sh", name,
		strconv.FormatInt(from+1, 10), strconv.FormatInt(lr.budget+int64(len(fp)), 10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(fp) > 0 {
		if !bytes.HasPrefix(out, fp) {
			return nil, errFingerprint
		}
		out = out[len(fp):]
	}
	lr.budget -= int64(len(out))
	return out, nil
}

// parseFileID parses "dev:ino:size:name" as stat -c %d:%i:%s:%n prints it.
func parseFileID(s string) (fileID, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 {
		return fileID{}, fmt.Errorf("unexpected stat output %q", s)
	}
	size, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return fileID{}, fmt.Errorf("unexpected stat output %q", s)
	}
	return fileID{id: parts[0] + ":" + parts[1], size: size, name: parts[3]}, nil
}

// parseClock parses date +%s.%N ("1700000000.123456789"; a date without
// %N support leaves it out or literal).
func parseClock(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unexpected host clock %q", s)
	}
	ns := int64(0)
	if len(frac) == 9 {
		ns, _ = strconv.ParseInt(frac, 10, 64)
	}
	return time.Unix(n, ns), nil
}

// pct renders a share as a percentage.
func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) + "%" }
