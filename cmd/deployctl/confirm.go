package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errNotConfirmed ends a rollout the person at the terminal declined.
var errNotConfirmed = errors.New("not confirmed: nothing changed")

// prompter asks a yes/no question, only of a person at a terminal.
type prompter struct {
	in  io.Reader
	out io.Writer
	tty bool
}

// newPrompter asks on stdin when it is a terminal; a CI job (no TTY,
// stdin closed) is never asked.
func newPrompter(g *GlobalOptions) prompter {
	tty := false
	if f, ok := g.stdin.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return prompter{in: g.stdin, out: g.stderr, tty: tty}
}

// confirm returns nil when yes is set, when nobody can be asked, or when
// the answer is y or yes.
func (p prompter) confirm(yes bool, question string) error {
	if yes || !p.tty || p.in == nil {
		return nil
	}
	fmt.Fprintf(p.out, "%s [y/N] ", question)
	line, err := bufio.NewReader(p.in).ReadString('\n')
	if err != nil && line == "" {
		return errNotConfirmed
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}
