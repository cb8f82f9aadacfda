package configset

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Names inside <base>/configs.
const (
	ConfigsDir    = "configs"
	CurrentName   = "current"
	ManifestName  = ".deployctl-config"
	PartialSuffix = ".partial"
	OldSuffix     = ".old"
)

// VersionLen is the length of a config version: hex digits of a sha256.
const VersionLen = 16

// ErrBadVersion is a string that is not a config version.
var ErrBadVersion = errors.New("not a config version")

var versionPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ValidVersion reports an error unless v is a config version (16 lowercase
// hex digits).
func ValidVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("%w: %q", ErrBadVersion, v)
	}
	return nil
}

// layout locates one app's config versions on a host.
type layout struct{ base string }

func newLayout(base string) (layout, error) {
	if !path.IsAbs(base) || path.Clean(base) != base || base == "/" {
		return layout{}, fmt.Errorf("base %q must be an absolute, clean path below /", base)
	}
	if strings.ContainsAny(base, "\x00\n\t") {
		return layout{}, fmt.Errorf("base %q contains a NUL, newline or tab", base)
	}
	return layout{base: base}, nil
}

func (l layout) configs() string            { return path.Join(l.base, ConfigsDir) }
func (l layout) current() string            { return path.Join(l.configs(), CurrentName) }
func (l layout) version(v string) string    { return path.Join(l.configs(), v) }
func (l layout) partial(v string) string    { return l.version(v) + PartialSuffix }
func (l layout) old(v string) string        { return l.version(v) + OldSuffix }
func (l layout) file(v, name string) string { return path.Join(l.version(v), name) }

// inside reports whether host path p lies in the configs directory, where
// no link may go.
func (l layout) inside(p string) bool {
	return p == l.configs() || strings.HasPrefix(p, l.configs()+"/")
}
