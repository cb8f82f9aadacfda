package configset

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// ErrVerify is a version directory whose files do not match its manifest
// (or the Set being shipped).
var ErrVerify = errors.New("config version verification failed")

const extractScript = `set -e
rm -rf -- "$1"
mkdir -p -- "$1"
exec tar -x -p -m --no-same-owner -C "$1" -f -
`

const renameScript = `set -e
rm -rf -- "$3"
if [ -e "$2" ] || [ -L "$2" ]; then mv -T -- "$2" "$3"; fi
mv -T -- "$1" "$2"
rm -rf -- "$3"
`

const removeScript = `rm -rf -- "$1"`

// Ship puts set in <base>/configs/<version>/ on r's host and returns the
// bytes it sent: 0 when the version is already there and intact. A
// missing or damaged version is streamed as a tar into
// <version>.partial (replacing what an interrupted ship left there),
// checked file by file, and only then renamed into place. (Replacing a
// damaged version that is live leaves its links dangling for the moment
// between two renames; a version changed in place is already a fault.)
func Ship(ctx context.Context, r Runner, base string, set *Set) (sent int64, err error) {
	l, err := newLayout(base)
	if err != nil {
		return 0, fmt.Errorf("ship config: %w", err)
	}
	entries, err := set.check()
	if err != nil {
		return 0, fmt.Errorf("ship config: %w", err)
	}
	v := set.Version
	switch err := verify(ctx, r, l.version(v), entries); {
	case err == nil:
		return 0, nil
	case errors.Is(err, errAbsent), errors.Is(err, ErrVerify):
		// (re)send below
	default:
		return 0, fmt.Errorf("ship config %s: %w", v, err)
	}
	stream, err := tarSet(set, entries)
	if err != nil {
		return 0, fmt.Errorf("ship config %s: %w", v, err)
	}
	if _, err := r.Run(ctx, bytes.NewReader(stream), sshx.Script(extractScript, l.partial(v))...); err != nil {
		return 0, fmt.Errorf("ship config %s: extract: %w", v, err)
	}
	sent = int64(len(stream))
	if err := verify(ctx, r, l.partial(v), entries); err != nil {
		if _, rmErr := r.Run(ctx, nil, sshx.Script(removeScript, l.partial(v))...); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", l.partial(v), rmErr))
		}
		return sent, fmt.Errorf("ship config %s: %w", v, err)
	}
	if _, err := r.Run(ctx, nil, sshx.Script(renameScript, l.partial(v), l.version(v), l.old(v))...); err != nil {
		return sent, fmt.Errorf("ship config %s: rename: %w", v, err)
	}
	return sent, nil
}

// tarSet returns the tar stream of a version directory: its
// subdirectories, the manifest and the files.
func tarSet(set *Set, entries []entry) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	now := time.Now()
	seen := map[string]bool{}
	var dirs []string
	for _, f := range set.Files {
		for d := path.Dir(f.Name); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	// Parents first, though tar -x would create them anyway.
	slices.SortStableFunc(dirs, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") })
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
			return nil, err
		}
	}
	write := func(name string, mode fs.FileMode, content []byte) error {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: int64(len(content)), ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(content)
		return err
	}
	if err := write(ManifestName, 0o644, manifest(entries)); err != nil {
		return nil, err
	}
	for _, f := range set.Files {
		if err := write(f.Name, f.Mode, f.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var errAbsent = errors.New("absent")

const verifyScript = `d=$1; shift
if [ ! -e "$d" ] && [ ! -L "$d" ]; then echo absent; exit 0; fi
if [ -L "$d" ] || [ ! -d "$d" ]; then echo notdir; exit 0; fi
echo present
for n in "$@"; do
  f=$d/$n
  if [ -L "$f" ] || [ ! -f "$f" ]; then echo missing; continue; fi
  m=$(stat -c %a -- "$f") || exit 1
  s=$(sha256sum < "$f") || exit 1
  printf '%s %s\n' "$m" "${s%% *}"
done
`

// verify checks that dir holds the manifest of entries and every file with
// its mode and sha256. It returns nil, an error wrapping errAbsent, one
// wrapping ErrVerify saying what differs, or the Runner's error.
func verify(ctx context.Context, r Runner, dir string, entries []entry) error {
	want := manifest(entries)
	args := []string{dir, ManifestName}
	for _, e := range entries {
		args = append(args, e.name)
	}
	out, err := r.Run(ctx, nil, sshx.Script(verifyScript, args...)...)
	if err != nil {
		return fmt.Errorf("verify %s: %w", dir, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	switch lines[0] {
	case "absent":
		return fmt.Errorf("%s: %w", dir, errAbsent)
	case "notdir":
		return fmt.Errorf("%w: %s is not a directory", ErrVerify, dir)
	case "present":
	default:
		return fmt.Errorf("verify %s: unexpected output %q", dir, out)
	}
	if len(lines) != len(args) {
		return fmt.Errorf("verify %s: unexpected output %q", dir, out)
	}
	sum := sha256Hex(want)
	for i, line := range lines[1:] {
		name := args[i+1]
		if line == "missing" {
			return fmt.Errorf("%w: %s/%s is missing or not a regular file", ErrVerify, dir, name)
		}
		modeText, got, ok := strings.Cut(line, " ")
		mode, err := strconv.ParseUint(modeText, 8, 32)
		if !ok || err != nil {
			return fmt.Errorf("verify %s: unexpected output %q", dir, line)
		}
		if i == 0 {
			if got != sum {
				return fmt.Errorf("%w: %s/%s differs", ErrVerify, dir, ManifestName)
			}
			continue
		}
		e := entries[i-1]
		if got != e.sum {
			return fmt.Errorf("%w: %s/%s: content differs", ErrVerify, dir, name)
		}
		if mode != uint64(e.mode) {
			return fmt.Errorf("%w: %s/%s: mode %04o, want %04o", ErrVerify, dir, name, mode, uint32(e.mode))
		}
	}
	return nil
}
