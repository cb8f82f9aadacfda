package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every configuration error, so callers can tell
// bad configuration (exit 2) from other failures.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong with the configuration, located in a file.
type Problem struct {
	File string `json:"file"`           // as the user would open it: relative to where the base file was named
	Line int    `json:"line,omitempty"` // 1-based; 0 when unknown
	Path string `json:"path,omitempty"` // field path, e.g. "groups.canary[2]"
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found, in file and line order.
type Errors []Problem

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e Errors) Is(target error) bool { return target == ErrInvalid }

var (
	yamlLineRe    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKeyRe  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	durationErrRe = regexp.MustCompile("^cannot unmarshal !!\\w+ `([^`]*)` into time.Duration$")
	typeErrRe     = regexp.MustCompile("^cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)$")
)

// yamlProblems turns a yaml.v3 error into problems with lines and friendly
// messages.
func yamlProblems(file string, err error, paths func(line int, key string) string) []Problem {
	var lines []string
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "yaml: unmarshal errors:\n"); ok {
		for _, l := range strings.Split(rest, "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
	} else {
		lines = []string{msg}
	}
	var out []Problem
	for _, l := range lines {
		p := Problem{File: file, Msg: strings.TrimPrefix(l, "yaml: ")}
		if m := yamlLineRe.FindStringSubmatch(l); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Msg = m[2]
			// a nested "line N:" from our own unmarshalers is more precise
			if mm := yamlLineRe.FindStringSubmatch(p.Msg); mm != nil {
				p.Line, _ = strconv.Atoi(mm[1])
				p.Msg = mm[2]
			}
		}
		key := ""
		switch {
		case unknownKeyRe.MatchString(p.Msg):
			key = unknownKeyRe.FindStringSubmatch(p.Msg)[1]
			p.Msg = fmt.Sprintf("unknown key %q", key)
		case durationErrRe.MatchString(p.Msg):
			p.Msg = fmt.Sprintf("bad duration %q: want a Go duration such as 30s, 2m or 1h30m", durationErrRe.FindStringSubmatch(p.Msg)[1])
		case typeErrRe.MatchString(p.Msg):
			m := typeErrRe.FindStringSubmatch(p.Msg)
			p.Msg = fmt.Sprintf("cannot use %s %q as %s", m[1], m[2], friendlyType(m[3]))
		}
		if paths != nil && p.Line > 0 {
			p.Path = paths(p.Line, key)
		}
		out = append(out, p)
	}
	return out
}

func friendlyType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "int", t == "int64", t == "float64":
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a mapping (" + t + ")"
}
