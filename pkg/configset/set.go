package configset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// File is one rendered file of a host.
type File struct {
	Name    string      // inside the version directory, e.g. "app.conf"
	Path    string      // the host path linked to it, e.g. /srv/etc/exampleapp/app.conf
	Mode    fs.FileMode // permission bits of the rendered file
	Content []byte
}

// Set is the rendered configuration of one host: its files and the
// version naming them.
type Set struct {
	Version string // 16 hex digits of the sha256 of the manifest (see the package doc)
	Files   []File // in the Spec's order
}

// NewSet checks files and returns them as a Set with its Version. Names
// and paths must be unique, names relative and clean, paths absolute and
// clean, modes at most 0777.
func NewSet(files []File) (*Set, error) {
	s := &Set{Files: files}
	entries, err := s.entries()
	if err != nil {
		return nil, err
	}
	s.Version = versionOf(manifest(entries))
	return s, nil
}

// Paths returns the host path of every file, in the Set's order.
func (s *Set) Paths() []string {
	out := make([]string, len(s.Files))
	for i, f := range s.Files {
		out[i] = f.Path
	}
	return out
}

// check reports an error unless s is well formed and its Version is the
// one its files give, and returns its manifest entries.
func (s *Set) check() ([]entry, error) {
	if s == nil {
		return nil, errors.New("no config set")
	}
	entries, err := s.entries()
	if err != nil {
		return nil, err
	}
	if err := ValidVersion(s.Version); err != nil {
		return nil, err
	}
	if v := versionOf(manifest(entries)); v != s.Version {
		return nil, fmt.Errorf("config set says version %s, its files give %s", s.Version, v)
	}
	return entries, nil
}

func (s *Set) entries() ([]entry, error) {
	var errs []error
	names := map[string]bool{}
	paths := map[string]bool{}
	entries := make([]entry, 0, len(s.Files))
	for _, f := range s.Files {
		if err := checkName(f.Name); err != nil {
			errs = append(errs, fmt.Errorf("file name %w", err))
		} else if names[f.Name] {
			errs = append(errs, fmt.Errorf("file name %q twice", f.Name))
		}
		if err := checkPath(f.Path); err != nil {
			errs = append(errs, fmt.Errorf("file %s: path %w", f.Name, err))
		} else if paths[f.Path] {
			errs = append(errs, fmt.Errorf("file %s: path %q twice", f.Name, f.Path))
		}
		if f.Mode&^fs.ModePerm != 0 {
			errs = append(errs, fmt.Errorf("file %s: mode %v: want permission bits only", f.Name, f.Mode))
		}
		names[f.Name], paths[f.Path] = true, true
		entries = append(entries, entry{mode: f.Mode, sum: sha256Hex(f.Content), name: f.Name, path: f.Path})
	}
	for _, f := range s.Files {
		for d := path.Dir(f.Name); d != "." && d != "/"; d = path.Dir(d) {
			if names[d] {
				errs = append(errs, fmt.Errorf("file name %q is inside file %q", f.Name, d))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config set: %w", err)
	}
	return entries, nil
}

// entry is one line of a manifest.
type entry struct {
	mode fs.FileMode
	sum  string // hex sha256 of the content
	name string
	path string
}

// manifestHeader is the first line of a manifest; it names the format, so
// a later format gives other versions.
const manifestHeader = "deployctl-config 1"

// manifest encodes entries, sorted by name, one per line:
// mode, sha256, name, path, separated by tabs (which names and paths may
// not contain).
func manifest(entries []entry) []byte {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	for _, e := range sorted {
		fmt.Fprintf(&b, "%04o\t%s\t%s\t%s\n", uint32(e.mode), e.sum, e.name, e.path)
	}
	return []byte(b.String())
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// versionOf returns the version a manifest names.
func versionOf(manifest []byte) string {
	return sha256Hex(manifest)[:VersionLen]
}

// parseManifest reads a manifest written by manifest.
func parseManifest(b []byte) ([]entry, error) {
	text, ok := strings.CutSuffix(string(b), "\n")
	if !ok {
		return nil, errors.New("manifest: no final newline")
	}
	lines := strings.Split(text, "\n")
	if lines[0] != manifestHeader {
		return nil, fmt.Errorf("manifest: first line %q, want %q", lines[0], manifestHeader)
	}
	var entries []entry
	for i, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("manifest line %d: %d fields, want 4", i+2, len(f))
		}
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err != nil || mode > 0o777 {
			return nil, fmt.Errorf("manifest line %d: bad mode %q", i+2, f[0])
		}
		if len(f[1]) != 2*sha256.Size {
			return nil, fmt.Errorf("manifest line %d: bad sha256 %q", i+2, f[1])
		}
		if err := checkName(f[2]); err != nil {
			return nil, fmt.Errorf("manifest line %d: name %w", i+2, err)
		}
		if err := checkPath(f[3]); err != nil {
			return nil, fmt.Errorf("manifest line %d: path %w", i+2, err)
		}
		entries = append(entries, entry{mode: fs.FileMode(mode), sum: f[1], name: f[2], path: f[3]})
	}
	return entries, nil
}
