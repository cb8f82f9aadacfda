package release

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// Host is one host to stage on: how to reach it and where the app lives.
type Host struct {
	Runner Runner
	Layout Layout
}

// StageOptions tunes StageAll.
type StageOptions struct {
	Parallel int    // hosts staged at once; 0 means sshx.DefaultParallel
	SpoolDir string // where the archive is kept once for all hosts; "" means os.TempDir()
	// OnDone, if set, is called as each host finishes (concurrently, from
	// the staging goroutines), e.g. to emit a progress event.
	OnDone func(Result, error)
}

// StageAll stages rev on every host, at most opts.Parallel at a time: the
// stage phase of a rollout, run before any host is touched. It first
// inspects every host; only if some host lacks the release is archive
// called, once, into a spool file that every such host then reads. Hosts
// that fail do not stop the others (each gets its answer); the returned
// error joins every host's failure, and any failure must stop the rollout
// before anything is depooled. Results are in hosts' order.
func StageAll(ctx context.Context, hosts []Host, rev string, archive Archive, opts StageOptions) ([]Result, error) {
	if err := ValidRev(rev); err != nil {
		return nil, err
	}
	results := make([]Result, len(hosts))
	statuses := make([]Status, len(hosts))
	errs := sshx.Each(ctx, opts.Parallel, len(hosts), func(ctx context.Context, i int) error {
		h := hosts[i]
		results[i] = Result{Host: h.Runner.Host(), Rev: rev}
		st, err := Inspect(ctx, h.Runner, h.Layout, rev)
		if err != nil {
			return fmt.Errorf("stage %s on %s: %w", gitsrc.Short(rev), h.Runner.Host(), err)
		}
		statuses[i] = st
		return nil
	})
	needed := false
	for i, err := range errs {
		needed = needed || (err == nil && statuses[i].State != Staged)
	}
	var sp *spool
	if needed {
		var err error
		if sp, err = newSpool(ctx, archive, opts.SpoolDir); err != nil {
			return results, fmt.Errorf("stage %s: %w", gitsrc.Short(rev), err)
		}
		defer sp.close()
	}
	stageErrs := sshx.Each(ctx, opts.Parallel, len(hosts), func(ctx context.Context, i int) error {
		if errs[i] != nil {
			notify(opts, results[i], errs[i])
			return errs[i]
		}
		var src source
		if sp != nil {
			src = sp.source
		}
		res, err := stage(ctx, hosts[i].Runner, hosts[i].Layout, rev, &statuses[i], src)
		results[i] = res
		notify(opts, res, err)
		return err
	})
	return results, errors.Join(stageErrs...)
}

func notify(opts StageOptions, r Result, err error) {
	if opts.OnDone != nil {
		opts.OnDone(r, err)
	}
}

// spool is a rev's archive kept in an unlinked temp file (nothing to clean
// up after a crash), read concurrently by every host's staging.
type spool struct {
	f        *os.File
	size     int64
	manifest Manifest
}

func newSpool(ctx context.Context, archive Archive, dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "deployctl-stage-*.tar")
	if err != nil {
		return nil, fmt.Errorf("spool archive: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool archive: %w", err)
	}
	s := &spool{f: f}
	bw := bufio.NewWriterSize(f, 1<<20)
	if s.manifest, err = directSource(archive)(ctx, bw); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool archive: %w", err)
	}
	s.size = s.manifest.TarBytes
	return s, nil
}

func (s *spool) source(_ context.Context, w io.Writer) (Manifest, error) {
	if _, err := io.Copy(w, io.NewSectionReader(s.f, 0, s.size)); err != nil {
		return Manifest{}, err
	}
	return s.manifest, nil
}

func (s *spool) close() { s.f.Close() }
