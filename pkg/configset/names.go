package configset

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// checkRelative refuses a slash path that is absolute, unclean or leaves
// its root.
func checkRelative(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must be relative", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not a clean path (want %q)", p, path.Clean(p))
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q leaves its directory", p)
	case strings.ContainsAny(p, "\x00\n\t"):
		return fmt.Errorf("%q contains a NUL, newline or tab", p)
	}
	return nil
}

// checkName refuses a file name that cannot live inside a version
// directory.
func checkName(name string) error {
	if err := checkRelative(name); err != nil {
		return err
	}
	if name == "." || name == ManifestName {
		return fmt.Errorf("%q, a name deployctl cannot use", name)
	}
	return nil
}

// checkPath refuses a host path a file cannot be linked to.
func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must be absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not a clean path (want %q)", p, path.Clean(p))
	case p == "/":
		return fmt.Errorf("%q is the root directory", p)
	case strings.ContainsAny(p, "\x00\n\t"):
		return fmt.Errorf("%q contains a NUL, newline or tab", p)
	}
	return nil
}
