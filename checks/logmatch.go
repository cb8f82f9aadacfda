package checks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Level names: the canonical names with bunyan's numbers and syslog's
// priorities, and the other spellings that mean the same level.
var (
	levelAliases = map[string]string{
		"ERR": "ERROR", "WARNING": "WARN", "CRITICAL": "FATAL", "CRIT": "FATAL",
		"PANIC": "FATAL", "EMERG": "FATAL", "EMERGENCY": "FATAL", "ALERT": "FATAL",
	}
	bunyanLevels = map[string]int{"TRACE": 10, "DEBUG": 20, "INFO": 30, "WARN": 40, "ERROR": 50, "FATAL": 60}
	syslogLevels = map[string]int{
		"EMERG": 0, "EMERGENCY": 0, "ALERT": 1, "CRIT": 2, "CRITICAL": 2, "FATAL": 2,
		"ERR": 3, "ERROR": 3, "WARN": 4, "WARNING": 4, "NOTICE": 5, "INFO": 6, "DEBUG": 7, "TRACE": 7,
	}
)

// canonicalLevel returns the canonical upper-case name of a level.
func canonicalLevel(s string) string {
	s = strings.ToUpper(s)
	if c, ok := levelAliases[s]; ok {
		return c
	}
	return s
}

// syslogPriority returns the syslog priority of a level name.
func syslogPriority(s string) (int, bool) {
	p, ok := syslogLevels[strings.ToUpper(s)]
	return p, ok
}

// matcher splits log text into entries and says which ones count.
type matcher struct {
	json       bool
	levelField string
	textLevel  *regexp.Regexp   // a level word on an entry's first line; nil: none
	names      map[string]bool  // canonical level names that count
	minNumber  int              // numeric levels at or above count; 0: none
	patterns   []*regexp.Regexp // any match anywhere in the entry counts
	entryStart *regexp.Regexp   // nil: the default continuation rules
}

func newMatcher(d Spec) (*matcher, error) {
	m := &matcher{json: d.Format == FormatJSON, levelField: d.LevelField, names: map[string]bool{}}
	var words []string
	for _, l := range d.Levels {
		c := canonicalLevel(l)
		if m.names[c] {
			continue
		}
		m.names[c] = true
		words = append(words, c)
		for alias, canon := range levelAliases {
			if canon == c {
				words = append(words, alias)
			}
		}
		if n, ok := bunyanLevels[c]; ok && (m.minNumber == 0 || n < m.minNumber) {
			m.minNumber = n
		}
	}
	if len(words) > 0 {
		alt := strings.Join(words, "|")
		m.textLevel = regexp.MustCompile(`\b(?:` + alt + `)\b|(?i:\blevel=["']?(?:` + alt + `)\b)`)
	}
	for i, p := range d.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("patterns[%d]: %w", i, err)
		}
		m.patterns = append(m.patterns, re)
	}
	if d.EntryStart != "" {
		re, err := regexp.Compile(d.EntryStart)
		if err != nil {
			return nil, fmt.Errorf("entry_start: %w", err)
		}
		m.entryStart = re
	}
	return m, nil
}

// tally is what a scan counted.
type tally struct {
	entries int
	matches int
	shown   []string // the first matching entries, cut short
}

// share is the fraction of entries that matched (0 when there were none).
func (t tally) share() float64 {
	if t.entries == 0 {
		return 0
	}
	return float64(t.matches) / float64(t.entries)
}

// scan counts the entries of data and those that match. A multi-line entry
// (a stack trace under its ERROR line) counts once.
func (m *matcher) scan(data []byte) tally {
	var t tally
	var entry []string
	inTraceback := false
	flush := func() {
		if len(entry) == 0 {
			return
		}
		t.entries++
		if m.matches(entry) {
			t.matches++
			if len(t.shown) < maxShownEntries {
				t.shown = append(t.shown, cut(strings.Join(entry, "\n"), 2*excerptBytes))
			}
		}
		entry = entry[:0]
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) == 0 {
		return t
	}
	for _, b := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSuffix(string(b), "\r")
		if len(entry) == 0 || m.startsEntry(line, &inTraceback) {
			flush()
		}
		entry = append(entry, line)
	}
	flush()
	return t
}

// startsEntry reports whether line begins a new entry. Without entry_start,
// a line continues the entry when it is blank or indented, when it opens or
// chains a traceback, or when it is the exception line that ends a Python
// traceback.
func (m *matcher) startsEntry(line string, inTraceback *bool) bool {
	if m.entryStart != nil {
		return m.entryStart.MatchString(line)
	}
	switch {
	case m.json && strings.HasPrefix(line, "{"):
		*inTraceback = false
		return true
	case line == "" || line[0] == ' ' || line[0] == '\t':
		return false
	case strings.HasPrefix(line, "Traceback (most recent call last):"):
		*inTraceback = true
		return false
	case strings.HasPrefix(line, "Caused by:"),
		strings.HasPrefix(line, "During handling of the above exception"),
		strings.HasPrefix(line, "The above exception was the direct cause"):
		return false
	case *inTraceback:
		*inTraceback = false
		return false
	}
	return true
}

// matches reports whether an entry counts: its level, or a pattern.
func (m *matcher) matches(entry []string) bool {
	first := entry[0]
	if m.levelMatches(first) {
		return true
	}
	if len(m.patterns) == 0 {
		return false
	}
	text := strings.Join(entry, "\n")
	for _, re := range m.patterns {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

func (m *matcher) levelMatches(first string) bool {
	if m.json && strings.HasPrefix(first, "{") {
		dec := json.NewDecoder(strings.NewReader(first))
		dec.UseNumber()
		var rec map[string]any
		if err := dec.Decode(&rec); err == nil {
			v, ok := lookup(rec, m.levelField)
			if !ok {
				return false
			}
			switch x := v.(type) {
			case string:
				return m.names[canonicalLevel(x)]
			case json.Number:
				n, err := x.Int64()
				return err == nil && m.minNumber > 0 && n >= int64(m.minNumber)
			}
			return false
		}
		// Not JSON after all (a crash dump): judge it as text.
	}
	return m.textLevel != nil && m.textLevel.MatchString(first)
}

// cut shortens s to at most n bytes at a rune boundary, marked when cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
