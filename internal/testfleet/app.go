package testfleet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// stageScript extracts the tar on stdin into revs/REV like deployctl does: a
// .partial directory with a marker file, renamed into place, then `current`
// switched atomically. $1 is the app dir, $2 the rev.
const stageScript = `set -e
d="$1/revs/$2"
rm -rf "$d.partial"
mkdir -p "$d.partial"
tar -x -C "$d.partial"
printf '%s\n' "$2" > "$d.partial/.deployctl-rev"
rm -rf "$d"
mv "$d.partial" "$d"
ln -sfn "revs/$2" "$1/current.tmp"
mv -T "$1/current.tmp" "$1/current"`

// StartApp starts the example app at tag (see Rev) on host by hand: it stops
// what runs there with the stop argv, streams `git archive` of the rev over
// SSH into /srv/deploy/exampleapp/revs/<rev> (marker file, `current`
// switched), and starts it with the start argv. It returns the release
// directory as the host sees it. The start argv backgrounds the app, so a
// version that fails at start still returns here; watch its pid file or log.
func (f *Fleet) StartApp(t testing.TB, host, tag string) string {
	t.Helper()
	h := f.Host(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	rel, err := f.startApp(ctx, h, tag)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// startApp is StartApp.
func (f *Fleet) startApp(ctx context.Context, h Host, tag string) (string, error) {
	rev := f.Rev(tag)
	if rev == "" {
		return "", fmt.Errorf("fleet: unknown tag %q", tag)
	}
	if err := f.stopApp(ctx, h.Name); err != nil {
		return "", err
	}
	appDir := path.Join(f.DeployDir, f.App)
	rel := path.Join(appDir, "revs", rev)

	var tarball, errb bytes.Buffer
	archive := exec.CommandContext(ctx, "git", "-C", f.RepoDir, "archive", "--format=tar", rev)
	archive.Stdout = &tarball
	archive.Stderr = &errb
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("fleet: git archive %s: %v %s", tag, err, errb.String())
	}
	if _, _, err := f.Exec(ctx, h.Name, &tarball, "sh", "-c", stageScript, "sh", appDir, rev); err != nil {
		return "", fmt.Errorf("fleet: stage %s on %s: %v", tag, h.Name, err)
	}
	return rel, f.startRelease(ctx, h, tag, rel)
}

// startRelease runs the start argv for the release directory rel on h.
func (f *Fleet) startRelease(ctx context.Context, h Host, tag, rel string) error {
	argv, err := hosttmpl.ExpandAll(f.StartArgv, hosttmpl.Vars{
		"release_dir": rel,
		"address":     h.Address,
		"host":        h.Name,
	})
	if err != nil {
		return fmt.Errorf("fleet: start argv: %v", err)
	}
	if _, _, err := f.Exec(ctx, h.Name, nil, argv...); err != nil {
		return fmt.Errorf("fleet: start %s on %s: %v", tag, h.Name, err)
	}
	return nil
}

// StopApp stops the app on host with the stop argv; nothing running is fine.
func (f *Fleet) StopApp(t testing.TB, host string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	if err := f.stopApp(ctx, host); err != nil {
		t.Fatal(err)
	}
}

// stopApp is StopApp.
func (f *Fleet) stopApp(ctx context.Context, host string) error {
	if _, _, err := f.Exec(ctx, host, nil, f.StopArgv...); err != nil {
		return fmt.Errorf("fleet: stop app on %s: %v", host, err)
	}
	return nil
}

// AppPID returns the pid in host's app pid file, or 0 when there is none.
func (f *Fleet) AppPID(t testing.TB, host string) int {
	t.Helper()
	h := f.Host(t, host)
	b, err := os.ReadFile(h.Path("/srv/run/" + f.App + ".pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
