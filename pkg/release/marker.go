package release

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Marker is what a release records about itself: the rev, in
// .deployctl-rev (that line alone, so `cat` gives the rev), and the facts
// that let a later staging check the release, in .deployctl-manifest.
type Marker struct {
	Rev      string
	Manifest *Manifest // nil when the release has no manifest file
	StagedAt time.Time // zero when not recorded
}

// encodeManifest writes the manifest file: key=value lines.
func (m Marker) encodeManifest() string {
	var b strings.Builder
	if mf := m.Manifest; mf != nil {
		fmt.Fprintf(&b, "files=%d\nbytes=%d\ndirs=%d\nsymlinks=%d\nother=%d\ntar_bytes=%d\ntar_sha256=%s\n",
			mf.Files, mf.Bytes, mf.Dirs, mf.Symlinks, mf.Other, mf.TarBytes, mf.TarSHA256)
	}
	if !m.StagedAt.IsZero() {
		fmt.Fprintf(&b, "staged_at=%s\n", m.StagedAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// parseRev reads the rev from the first line of a marker file.
func parseRev(s string) (string, error) {
	line, _, _ := strings.Cut(s, "\n")
	rev := strings.TrimSpace(line)
	if err := ValidRev(rev); err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrVerify, MarkerName, err)
	}
	return rev, nil
}

// parseManifest reads a manifest file. Unknown keys are ignored so that
// later versions can add facts; every count must be there.
func parseManifest(s string) (*Manifest, time.Time, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			kv[k] = v
		}
	}
	var staged time.Time
	if t, err := time.Parse(time.RFC3339, kv["staged_at"]); err == nil {
		staged = t
	}
	nums := map[string]int64{}
	for _, k := range []string{"files", "bytes", "dirs", "symlinks", "other", "tar_bytes"} {
		v, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil || v < 0 {
			return nil, staged, fmt.Errorf("%w: %s: bad or missing %s", ErrVerify, ManifestName, k)
		}
		nums[k] = v
	}
	return &Manifest{
		Counts: Counts{
			Files: int(nums["files"]), Bytes: nums["bytes"], Dirs: int(nums["dirs"]),
			Symlinks: int(nums["symlinks"]), Other: int(nums["other"]),
		},
		TarBytes:  nums["tar_bytes"],
		TarSHA256: kv["tar_sha256"],
	}, staged, nil
}
