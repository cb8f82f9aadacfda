package release

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"
	"strings"
)

// ErrVerify is an extracted tree that does not match what was sent, or a
// release whose marker disagrees with its files.
var ErrVerify = errors.New("release verification failed")

// Counts are what a release tree holds, the release root and its marker
// left out. They are what the tar stream promised and what the host's
// tree must show.
type Counts struct {
	Files    int   // regular files (hard links count as files of size 0)
	Bytes    int64 // sum of regular file sizes
	Dirs     int   // directories, including ones only implied by a path
	Symlinks int
	Other    int // devices, fifos
}

// String lists the counts for messages.
func (c Counts) String() string {
	return fmt.Sprintf("%d files, %d bytes, %d dirs, %d symlinks, %d other", c.Files, c.Bytes, c.Dirs, c.Symlinks, c.Other)
}

// Manifest describes one rev's tar stream.
type Manifest struct {
	Counts
	TarBytes  int64  // length of the stream
	TarSHA256 string // hex sha256 of the stream
}

// manifestWriter computes the Manifest of a tar stream written to it. It
// never fails a write, so it can sit in an io.MultiWriter beside the real
// destination; a stream it cannot parse is reported by finish.
type manifestWriter struct {
	pw    *io.PipeWriter
	sum   hash.Hash
	n     int64
	done  chan struct{}
	count Counts
	err   error
}

func newManifestWriter() *manifestWriter {
	pr, pw := io.Pipe()
	m := &manifestWriter{pw: pw, sum: sha256.New(), done: make(chan struct{})}
	go m.parse(pr)
	return m
}

func (m *manifestWriter) Write(p []byte) (int, error) {
	m.sum.Write(p)
	m.n += int64(len(p))
	_, _ = m.pw.Write(p) // parse drains to the end, so this never blocks for good
	return len(p), nil
}

// finish ends the stream and returns its manifest.
func (m *manifestWriter) finish() (Manifest, error) {
	m.pw.Close()
	<-m.done
	if m.err != nil {
		return Manifest{}, fmt.Errorf("read archive: %w", m.err)
	}
	return Manifest{Counts: m.count, TarBytes: m.n, TarSHA256: hex.EncodeToString(m.sum.Sum(nil))}, nil
}

func (m *manifestWriter) parse(r *io.PipeReader) {
	defer close(m.done)
	// Drain whatever follows the end of the archive (or a parse error), so
	// the writer is never blocked.
	defer io.Copy(io.Discard, r)
	type entry struct {
		typ  byte
		size int64
	}
	entries := map[string]entry{}
	dirs := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			m.err = err
			return
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // git archive's pax comment holding the commit
		}
		name, err := cleanMember(h.Name)
		if err != nil {
			m.err = err
			return
		}
		if name == "" || name == MarkerName || name == ManifestName {
			continue // the root; a marker in the repo is replaced by ours
		}
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		switch h.Typeflag {
		case tar.TypeDir:
			dirs[name] = true
			delete(entries, name)
		case tar.TypeReg, tar.TypeRegA:
			entries[name] = entry{'-', h.Size}
		case tar.TypeLink:
			entries[name] = entry{'-', 0}
		case tar.TypeSymlink:
			entries[name] = entry{'l', 0}
		default:
			entries[name] = entry{'?', 0}
		}
	}
	var c Counts
	for name, e := range entries {
		if dirs[name] {
			continue
		}
		switch e.typ {
		case '-':
			c.Files++
			c.Bytes += e.size
		case 'l':
			c.Symlinks++
		default:
			c.Other++
		}
	}
	c.Dirs = len(dirs)
	m.count = c
}

// cleanMember returns a tar member name relative to the release root
// ("" for the root itself), refusing names that would leave it.
func cleanMember(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("archive member %q is absolute", name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("archive member %q leaves the release", name)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// listArgv lists dir's tree the way GNU tar would archive it, without
// reading any file (tar skips file contents when the archive is
// /dev/null), one `ls -l`-like line per entry, the marker files left out.
func listArgv(dir string) []string {
	return []string{"tar", "-C", dir, "--numeric-owner", "--anchored",
		"--exclude=./" + MarkerName, "--exclude=./" + ManifestName, "-cvvf", "/dev/null", "."}
}

// listCounter counts the lines of a tar -cvv listing written to it.
type listCounter struct {
	partial []byte
	c       Counts
	err     error
}

func (l *listCounter) Write(p []byte) (int, error) {
	n := len(p)
	if l.partial != nil {
		p = append(l.partial, p...)
		l.partial = nil
	}
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		l.line(string(p[:i]))
		p = p[i+1:]
	}
	if len(p) > 0 {
		l.partial = append([]byte(nil), p...)
	}
	return n, nil
}

// line counts one entry: "-rw-r--r-- 0/0  1234 2024-05-01 12:00 ./name".
// Names are escaped by tar (a newline is \n), so one entry is one line.
func (l *listCounter) line(s string) {
	f := strings.Fields(s)
	if len(f) < 6 || len(f[0]) < 10 {
		if l.err == nil {
			l.err = fmt.Errorf("unexpected tar listing line %q", s)
		}
		return
	}
	if nameField(s) == "./" {
		return // the root
	}
	switch f[0][0] {
	case '-':
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil && l.err == nil {
			l.err = fmt.Errorf("unexpected size in tar listing line %q", s)
		}
		l.c.Files++
		l.c.Bytes += size
	case 'h':
		l.c.Files++
	case 'd':
		l.c.Dirs++
	case 'l':
		l.c.Symlinks++
	default:
		l.c.Other++
	}
}

// nameField returns what follows the five fields mode, owner, size, date
// and time: the entry's name (with " -> target" for a symlink).
func nameField(s string) string {
	rest := s
	for range 5 {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			return ""
		}
		rest = rest[i:]
	}
	return strings.TrimPrefix(rest, " ")
}

func (l *listCounter) counts() (Counts, error) {
	if len(l.partial) > 0 {
		l.line(string(l.partial))
		l.partial = nil
	}
	return l.c, l.err
}
