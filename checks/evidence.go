package checks

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sizes of the excerpts kept as evidence.
const (
	excerptBytes    = 300 // an HTTP body, a log entry
	outputTail      = 500 // a command's output
	maxShownEntries = 5   // matching log entries shown
)

// excerpt returns the first n bytes of b as one quoted line, marked when cut.
func excerpt(b []byte, n int) string {
	cut := len(b) > n
	if cut {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) { // do not split a rune
			b = b[:len(b)-1]
		}
	}
	s := strconv.Quote(string(b))
	if cut {
		s += "..."
	}
	return s
}

// tailText returns the last n bytes of b, trimmed, marked when cut.
func tailText(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "..." + s
}

// indent prefixes every line of s with two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// fmtNum formats a measured value compactly: 0.031, 1200, 1.5e-05.
func fmtNum(f float64) string {
	return strconv.FormatFloat(f, 'g', 6, 64)
}
