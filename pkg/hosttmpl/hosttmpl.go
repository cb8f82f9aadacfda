// Package hosttmpl fills per-host placeholders such as {host}, {address} and
// inventory vars into strings and argv. It is deliberately tiny: a
// placeholder is a name (letters, digits, '_' and '-', not starting with a
// digit or '-') in braces, an unknown name is an error, "{{" is a literal
// "{", and braces around anything that is not a name are left alone, so
// PromQL selectors and JSON pass through: {instance="{host}"} fills only
// {host}.
package hosttmpl

import (
	"fmt"
	"sort"
	"strings"
)

// Vars maps placeholder names (without braces) to their values.
type Vars map[string]string

// Expand replaces every {name} in s with vars[name]. An unknown or unclosed
// placeholder is an error naming it, so a typo never reaches a host.
func Expand(s string, vars Vars) (string, error) {
	if !strings.Contains(s, "{") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		name, ok := nameAt(s[i+1:])
		if !ok {
			b.WriteByte('{')
			continue
		}
		v, known := vars[name]
		if !known {
			return "", fmt.Errorf("unknown placeholder {%s} in %q (known: %s)", name, s, vars.names())
		}
		b.WriteString(v)
		i += len(name) + 1
	}
	return b.String(), nil
}

// nameAt returns the placeholder name at the start of s when s starts with
// "name}".
func nameAt(s string) (string, bool) {
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '}':
			return s[:j], j > 0
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case j > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return "", false
		}
	}
	return "", false
}

// ExpandAll expands every element of argv, keeping argv boundaries intact:
// a value with spaces stays one argument.
func ExpandAll(argv []string, vars Vars) ([]string, error) {
	out := make([]string, len(argv))
	for i, a := range argv {
		v, err := Expand(a, vars)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Placeholders lists the names used in s, in order of appearance.
func Placeholders(s string) []string {
	var names []string
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			i++
			continue
		}
		if name, ok := nameAt(s[i+1:]); ok {
			names = append(names, name)
			i += len(name) + 1
		}
	}
	return names
}

// With returns a copy of v with the given pairs added (k1, v1, k2, v2...).
func (v Vars) With(kv ...string) Vars {
	out := make(Vars, len(v)+len(kv)/2)
	for k, x := range v {
		out[k] = x
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func (v Vars) names() string {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, "{"+k+"}")
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
