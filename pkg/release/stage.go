package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// ErrDamagedCurrent is a damaged release that current points at: it is
// not replaced in place, since current would dangle between the renames.
// Activate another rev first, then stage this one again.
var ErrDamagedCurrent = errors.New("the damaged release is current")

// cleanupTimeout bounds removing a .partial after a failed staging.
const cleanupTimeout = 30 * time.Second

// Result is what staging one rev did on one host.
type Result struct {
	Host     string
	Rev      string
	Skipped  bool          // already staged and intact: nothing was sent
	Origin   Origin        // for Skipped: who laid the release out (adopted ones are never written)
	Replaced string        // why an existing revs/<rev> was replaced ("" if none was)
	Bytes    int64         // archive bytes sent
	Counts   Counts        // what the release holds (when known)
	Duration time.Duration //
}

// source writes one rev's tar stream to w and returns its manifest.
type source func(ctx context.Context, w io.Writer) (Manifest, error)

// Stage puts rev on r's host as revs/<rev>, streaming archive's tar over
// r into revs/<rev>.partial, checking the tree against the stream, writing
// the marker, then renaming. A rev already staged and intact is not sent
// again (Result.Skipped), and neither is one adopted from another tool
// (see Inspect), which is never written into; a checkout at another
// commit is refused (ErrForeignRelease). A damaged revs/<rev> is replaced,
// unless it is current (ErrDamagedCurrent). On failure nothing named revs/<rev> is left
// that looks complete; the .partial is removed (best effort) or left for
// the next staging or prune.
func Stage(ctx context.Context, r Runner, l Layout, rev string, archive Archive) (Result, error) {
	return stage(ctx, r, l, rev, nil, directSource(archive))
}

// directSource streams archive straight to the host, computing the
// manifest on the way.
func directSource(archive Archive) source {
	return func(ctx context.Context, w io.Writer) (Manifest, error) {
		mw := newManifestWriter()
		err := archive(ctx, io.MultiWriter(w, mw))
		m, merr := mw.finish()
		if err != nil {
			return Manifest{}, fmt.Errorf("archive: %w", err)
		}
		return m, merr
	}
}

// stage stages rev from src; st is rev's status when the caller has
// inspected it already.
func stage(ctx context.Context, r Runner, l Layout, rev string, st *Status, src source) (res Result, err error) {
	start := time.Now()
	res = Result{Host: r.Host(), Rev: rev}
	defer func() {
		res.Duration = time.Since(start)
		if err != nil {
			err = fmt.Errorf("stage %s on %s: %w", gitsrc.Short(rev), r.Host(), err)
		}
	}()
	if err := check(l, rev); err != nil {
		return res, err
	}
	if st == nil {
		s, err := Inspect(ctx, r, l, rev)
		if err != nil {
			return res, err
		}
		st = &s
	}
	switch st.State {
	case Staged:
		res.Skipped = true
		res.Origin = st.Origin
		if st.Marker.Manifest != nil {
			res.Counts = st.Marker.Manifest.Counts
		}
		return res, nil
	case Damaged:
		if st.Current {
			return res, fmt.Errorf("%w (%s)", ErrDamagedCurrent, st.Reason)
		}
		res.Replaced = st.Reason
		slog.Warn("replacing damaged release", "host", r.Host(), "rev", rev, "reason", st.Reason)
	}
	if src == nil {
		return res, errors.New("no archive to send")
	}

	m, n, err := extract(ctx, r, l, rev, src)
	res.Bytes = n
	if err != nil {
		removePartial(ctx, r, l, rev)
		return res, err
	}
	got, err := listTree(ctx, r, l.Partial(rev))
	if err == nil && got != m.Counts {
		err = fmt.Errorf("%w: extracted %s, archive held %s", ErrVerify, got, m.Counts)
	}
	if err != nil {
		removePartial(ctx, r, l, rev)
		return res, err
	}
	marker := Marker{Rev: rev, Manifest: &m, StagedAt: time.Now()}
	if _, err := r.Run(ctx, strings.NewReader(marker.encodeManifest()), sshx.Script(finalizeScript, l.Partial(rev), l.Release(rev), rev)...); err != nil {
		removePartial(ctx, r, l, rev)
		return res, fmt.Errorf("finalize: %w", err)
	}
	res.Counts = m.Counts
	return res, nil
}

// rmtree removes a tree even where the release made directories read-only.
const rmtree = `rmtree() { rm -rf -- "$1" 2>/dev/null || { chmod -R u+w -- "$1" && rm -rf -- "$1"; }; }
`

// extractScript empties revs/<rev>.partial and untars stdin into it. The
// archive's owners are not applied; its modes are, exactly (no umask). A
// record's padding after the end of the archive is drained so the sender
// never sees a closed pipe on success.
const extractScript = "# deployctl extract\n" + rmtree + `set -eu
p=$1
mkdir -p "${p%/*}"
if [ -e "$p" ] || [ -L "$p" ]; then rmtree "$p"; fi
mkdir "$p"
tar -x --no-same-owner --preserve-permissions --delay-directory-restore -f - -C "$p"
cat >/dev/null
`

// finalizeScript writes the manifest (stdin), then the marker, into the
// verified .partial and renames it to revs/<rev>, setting a damaged
// earlier copy aside first.
const finalizeScript = "# deployctl finalize\n" + rmtree + `set -eu
p=$1 d=$2 rev=$3
cat > "$p/` + ManifestName + `.tmp"
mv -f "$p/` + ManifestName + `.tmp" "$p/` + ManifestName + `"
printf '%s\n' "$rev" > "$p/` + MarkerName + `.tmp"
mv -f "$p/` + MarkerName + `.tmp" "$p/` + MarkerName + `"
if [ -e "$d" ] || [ -L "$d" ]; then
	o="$d` + OldSuffix + `"
	if [ -e "$o" ] || [ -L "$o" ]; then rmtree "$o"; fi
	mv -T "$d" "$o"
	mv -T "$p" "$d"
	rmtree "$o"
else
	mv -T "$p" "$d"
fi
`

// extract streams src into revs/<rev>.partial on the host and returns the
// manifest of what was sent and how many bytes.
func extract(ctx context.Context, r Runner, l Layout, rev string, src source) (Manifest, int64, error) {
	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	type produced struct {
		m   Manifest
		err error
	}
	done := make(chan produced, 1)
	go func() {
		m, err := src(ctx, cw)
		pw.CloseWithError(err) // nil: a clean EOF for tar
		done <- produced{m, err}
	}()
	err := r.Stream(ctx, pr, nil, sshx.Script(extractScript, l.Partial(rev))...)
	// Unblock the source if tar stopped reading early.
	pr.CloseWithError(errors.New("extract ended"))
	p := <-done
	if err != nil {
		return Manifest{}, cw.n, fmt.Errorf("extract: %w", err)
	}
	if p.err != nil {
		return Manifest{}, cw.n, p.err
	}
	return p.m, cw.n, nil
}

// removePartial removes revs/<rev>.partial after a failure, best effort
// and bounded, even when ctx is already cancelled.
func removePartial(ctx context.Context, r Runner, l Layout, rev string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := r.Run(ctx, nil, sshx.Script("# deployctl remove partial\n"+rmtree+`rmtree "$1"`, l.Partial(rev))...); err != nil {
		slog.Warn("could not remove partial release; the next staging or prune will", "host", r.Host(), "rev", rev, "err", err)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
