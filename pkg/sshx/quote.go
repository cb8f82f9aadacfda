package sshx

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNUL is returned for an argument holding a NUL byte, which no argv
// can carry.
var ErrNUL = errors.New("argument contains a NUL byte")

// ErrEmptyArgv is returned for a command without any argument.
var ErrEmptyArgv = errors.New("empty argv")

// Quote joins argv into one command line for a POSIX shell, so that the
// shell's `sh -c` hands the program exactly argv back. It is the only
// function that builds a remote command line.
//
// Every argument is single-quoted; an embedded single quote closes the
// quotes, adds an escaped quote and reopens them:
//
//	it's  ->  'it'\''s'
//
// Single quotes keep every other byte literal, non-UTF-8 included. An
// argument made only of characters no shell treats specially is left bare
// for readable logs, except the first, which is always quoted so that a
// word like "if" or "A=b" is never taken for a keyword or an assignment.
func Quote(argv ...string) (string, error) {
	if len(argv) == 0 {
		return "", ErrEmptyArgv
	}
	var b strings.Builder
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return "", fmt.Errorf("argv[%d]: %w", i, ErrNUL)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && isBare(a) {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String(), nil
}

// Script returns the argv that runs the shell script with args as its
// positional parameters $1, $2...: sh -c script, with "deployctl" as $0
// (the name sh puts before its own error messages). The script is meant
// to be a constant; every value it works on reaches it as an argument,
// never pasted into it, so no value needs quoting for sh. The result is
// an argv like any other, for Client.Run or Local.Run (which Quote it).
func Script(script string, args ...string) []string {
	return append([]string{"sh", "-c", script, "deployctl"}, args...)
}

// isBare reports whether a is non-empty and made only of bytes that no
// POSIX shell expands or splits on, anywhere in a word.
func isBare(a string) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_./:@%+,", c) >= 0:
		default:
			return false
		}
	}
	return true
}
