// Package field names a problem found in configuration by its field path
// (for example "groups.canary[2]"), so that the loader can add the file and
// line where that field was written.
package field

import "fmt"

// Error is one configuration problem at one field path.
type Error struct {
	Path string // dotted path with [i] indexes, relative to the caller's root
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns an *Error at path.
func Errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Join joins a prefix and a relative path: Join("pool", "etcd.key").
func Join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}

// Prefix returns errs with prefix joined in front of each path.
func Prefix(prefix string, errs []*Error) []*Error {
	out := make([]*Error, len(errs))
	for i, e := range errs {
		out[i] = &Error{Path: Join(prefix, e.Path), Msg: e.Msg}
	}
	return out
}
