package release

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// Names inside the layout.
const (
	MarkerName    = ".deployctl-rev"      // the rev, one line: written last, the sign of a complete release
	ManifestName  = ".deployctl-manifest" // counts and checksum of what was staged
	CurrentName   = "current"
	RevsDir       = "revs"
	PartialSuffix = ".partial"
	OldSuffix     = ".old"
)

// ErrBadRev is a rev that is not a full lowercase hex commit hash.
var ErrBadRev = errors.New("not a full hex rev")

// sha256RevLen is the length of a full rev of a SHA-256 repository. gitsrc
// reads SHA-1 repositories only, so deployctl stages nothing by such a
// rev, but another tool may have laid out releases named by one, which
// are adopted, activated and pruned as any other.
const sha256RevLen = 64

// ValidRev reports an error unless rev is a full commit hash, lowercase:
// 40 hex digits (as gitsrc.ParseRev takes them), or 64 for SHA-256
// repositories.
func ValidRev(rev string) error {
	if _, err := gitsrc.ParseRev(rev); err == nil {
		return nil
	}
	if len(rev) == sha256RevLen && strings.Trim(rev, "0123456789abcdef") == "" {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrBadRev, rev)
}

// Layout locates one app's releases on a host.
type Layout struct {
	DeployDir string // absolute, e.g. /srv/deploy
	App       string // one path element, e.g. "restbase"
}

// Validate reports what is wrong with l, or nil.
func (l Layout) Validate() error {
	var errs []error
	if !path.IsAbs(l.DeployDir) || path.Clean(l.DeployDir) != l.DeployDir {
		errs = append(errs, fmt.Errorf("deploy dir %q must be an absolute, clean path", l.DeployDir))
	}
	if l.App == "" || l.App == "." || l.App == ".." || strings.ContainsAny(l.App, "/") {
		errs = append(errs, fmt.Errorf("app %q must be one path element", l.App))
	}
	if strings.ContainsAny(l.DeployDir+l.App, "\x00\n") {
		errs = append(errs, errors.New("deploy dir and app must not contain NUL or newline"))
	}
	return errors.Join(errs...)
}

// Base is <deploy_dir>/<app>.
func (l Layout) Base() string { return path.Join(l.DeployDir, l.App) }

// Release is the directory of rev's release.
func (l Layout) Release(rev string) string { return path.Join(l.Base(), RevsDir, rev) }

// Partial is where rev is staged before it becomes a release.
func (l Layout) Partial(rev string) string { return l.Release(rev) + PartialSuffix }

// Current is the symlink to the live release.
func (l Layout) Current() string { return path.Join(l.Base(), CurrentName) }

// revFromLink returns the rev a current symlink target names: revs/<rev>,
// relative or absolute.
func revFromLink(target string) (string, error) {
	t := strings.TrimSuffix(target, "/")
	rev := path.Base(t)
	if path.Base(path.Dir(t)) != RevsDir || ValidRev(rev) != nil {
		return "", fmt.Errorf("current points at %q, not at %s/<rev>", target, RevsDir)
	}
	return rev, nil
}
