package release

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Marker is the content of a release's .deployctl-rev file.
type Marker struct {
	Rev      string
	Manifest *Manifest // nil for a marker holding only the rev
	StagedAt time.Time // zero when not recorded
}

// encode writes the marker: the rev alone on the first line, then
// key=value lines.
func (m Marker) encode() string {
	var b strings.Builder
	b.WriteString(m.Rev + "\n")
	if mf := m.Manifest; mf != nil {
		fmt.Fprintf(&b, "files=%d\nbytes=%d\ndirs=%d\nsymlinks=%d\nother=%d\ntar_bytes=%d\ntar_sha256=%s\n",
			mf.Files, mf.Bytes, mf.Dirs, mf.Symlinks, mf.Other, mf.TarBytes, mf.TarSHA256)
	}
	if !m.StagedAt.IsZero() {
		fmt.Fprintf(&b, "staged_at=%s\n", m.StagedAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// parseMarker reads a marker. Only the first line is required; unknown
// keys are ignored so that later versions can add facts. Counts are used
// only when all of them are present.
func parseMarker(s string) (Marker, error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	if !sc.Scan() {
		return Marker{}, fmt.Errorf("%w: empty marker", ErrVerify)
	}
	m := Marker{Rev: strings.TrimSpace(sc.Text())}
	if err := ValidRev(m.Rev); err != nil {
		return Marker{}, fmt.Errorf("%w: marker: %w", ErrVerify, err)
	}
	kv := map[string]string{}
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok {
			kv[k] = v
		}
	}
	if t, err := time.Parse(time.RFC3339, kv["staged_at"]); err == nil {
		m.StagedAt = t
	}
	nums := map[string]int64{}
	for _, k := range []string{"files", "bytes", "dirs", "symlinks", "other", "tar_bytes"} {
		v, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil || v < 0 {
			return m, nil // an old or hand-made marker: the rev alone
		}
		nums[k] = v
	}
	m.Manifest = &Manifest{
		Counts: Counts{
			Files: int(nums["files"]), Bytes: nums["bytes"], Dirs: int(nums["dirs"]),
			Symlinks: int(nums["symlinks"]), Other: int(nums["other"]),
		},
		TarBytes:  nums["tar_bytes"],
		TarSHA256: kv["tar_sha256"],
	}
	return m, nil
}
