package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// scriptJournal prints, as JSON lines, at most $4 bytes of unit $1's
// journal entries since the Unix time $2 at priority $3 or more severe. A
// journalctl failure is a last line the pipe cannot hide.
const scriptJournal = `{ journalctl --unit="$1" --since="@$2" --priority="$3" --output=json --no-pager --quiet || echo "deployctl: journalctl exited with status $?"; } | head -c "$4"`

// journaldProbe counts the matching journal entries of a systemd unit
// since the stop.
type journaldProbe struct {
	d        Spec
	priority int // entries at or below (more severe) count as a level match; -1: none
	patterns []*regexp.Regexp
}

func newJournaldProbe(d Spec) (*journaldProbe, error) {
	p := &journaldProbe{d: d, priority: -1}
	for _, l := range d.Levels {
		if n, ok := syslogPriority(l); ok && n > p.priority {
			p.priority = n
		}
	}
	for i, s := range d.Patterns {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("patterns[%d]: %w", i, err)
		}
		p.patterns = append(p.patterns, re)
	}
	return p, nil
}

// journalSnapshot is the host's clock before the stop.
type journalSnapshot struct{ clock time.Time }

func (p *journaldProbe) prepare(ctx context.Context, e env) (any, error) {
	if e.t.Runner == nil {
		return nil, ErrNoRunner
	}
	out, err := e.t.Runner.Run(ctx, nil, "date", "+%s.%N")
	if err != nil {
		return nil, fmt.Errorf("read the host clock: %w", err)
	}
	clock, err := parseClock(string(out))
	if err != nil {
		return nil, err
	}
	return &journalSnapshot{clock: clock}, nil
}

func (p *journaldProbe) run(ctx context.Context, e env) (outcome, error) {
	s, ok := e.snap.(*journalSnapshot)
	if !ok {
		return outcome{}, fmt.Errorf("baseline holds %T, not a journal snapshot", e.snap)
	}
	if e.t.Runner == nil {
		return outcome{}, ErrNoRunner
	}
	unit, err := hosttmpl.Expand(p.d.Unit, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("unit: %w", err)
	}
	// Without patterns journalctl filters by priority; with them, every
	// entry is needed.
	prio := "debug"
	if len(p.patterns) == 0 {
		prio = strconv.Itoa(p.priority)
	}
	out, err := e.t.Runner.Run(ctx, nil, "sh", "-c", scriptJournal, "sh",
		unit, strconv.FormatInt(s.clock.Unix(), 10), prio, strconv.FormatInt(p.d.MaxBytes, 10))
	if err != nil {
		return outcome{}, fmt.Errorf("read the journal of %s: %w", unit, err)
	}
	t, err := p.scan(out)
	if err != nil {
		return outcome{}, fmt.Errorf("read the journal of %s: %w", unit, err)
	}
	saw := fmt.Sprintf("journal of %s: %d of %d entries since %s (host clock) match %s (max_matches %d)",
		unit, t.matches, t.entries, s.clock.UTC().Format(time.RFC3339), matchWhat(p.d), p.d.MaxMatches)
	if int64(len(out)) >= p.d.MaxBytes {
		saw += fmt.Sprintf("; read only the first max_bytes (%d)", p.d.MaxBytes)
	}
	if t.matches <= p.d.MaxMatches {
		return outcome{evidence: saw}, nil
	}
	return outcome{}, fmt.Errorf("%w: %s; first:\n%s", ErrFailed, saw, indent(strings.Join(t.shown, "\n")))
}

// journalEntry is the part of journalctl's JSON output the check reads.
type journalEntry struct {
	Message    json.RawMessage `json:"MESSAGE"`
	Priority   string          `json:"PRIORITY"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"`
	Identifier string          `json:"SYSLOG_IDENTIFIER"`
	PID        string          `json:"_PID"`
}

// scan counts the entries of journalctl's JSON output and those that match.
func (p *journaldProbe) scan(out []byte) (tally, error) {
	var t tally
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ent journalEntry
		if err := json.Unmarshal(line, &ent); err != nil {
			if bytes.HasPrefix(line, []byte("deployctl: ")) {
				return t, fmt.Errorf("%s", bytes.TrimPrefix(line, []byte("deployctl: ")))
			}
			continue // the last line cut by max_bytes
		}
		t.entries++
		msg := journalMessage(ent.Message)
		prio, err := strconv.Atoi(ent.Priority)
		match := err == nil && prio <= p.priority
		for _, re := range p.patterns {
			match = match || re.MatchString(msg)
		}
		if !match {
			continue
		}
		t.matches++
		if len(t.shown) < maxShownEntries {
			t.shown = append(t.shown, cut(ent.describe(msg), 2*excerptBytes))
		}
	}
	return t, nil
}

func (ent journalEntry) describe(msg string) string {
	when := ""
	if us, err := strconv.ParseInt(ent.Realtime, 10, 64); err == nil {
		when = time.UnixMicro(us).UTC().Format(time.RFC3339) + " "
	}
	return fmt.Sprintf("%s%s[%s] <%s>: %s", when, ent.Identifier, ent.PID, ent.Priority, msg)
}

// journalMessage decodes MESSAGE, which journalctl writes as a string, or
// as an array of bytes when it is not valid UTF-8.
func journalMessage(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var b []byte
	var ints []int
	if err := json.Unmarshal(raw, &ints); err == nil {
		for _, i := range ints {
			b = append(b, byte(i))
		}
		return string(b)
	}
	return string(raw)
}
