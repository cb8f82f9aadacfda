package testfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// RestoreTimeout bounds RestoreStandard's wait for every host to serve v1,
// pooled and UP in HAProxy, once v1 is started everywhere.
const RestoreTimeout = 30 * time.Second

// standardTag is the version fleet.sh up starts on every host.
const standardTag = "v1"

// scapScript lays a release out as scap3 does: a git clone of the repo into
// revs/REV, checked out detached at REV (so .git/HEAD holds it), no marker
// and no manifest, then the relative `current` symlink switched atomically.
// $1 is the app dir, $2 the rev, $3 the repository. The clone does not
// hardlink the repository's objects: each host has its own, as a clone over
// the network would.
const scapScript = `set -e
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
d="$1/revs/$2"
mkdir -p "$1/revs"
rm -rf "$d"
git clone --quiet --no-checkout --no-hardlinks "$3" "$d"
git -C "$d" checkout --quiet --force --detach "$2"
ln -sfn "revs/$2" "$1/current.tmp"
mv -T "$1/current.tmp" "$1/current"`

// StartAppScap starts the example app at tag (see Rev) on host from a
// release laid out as scap3 lays it out, for tests of deployctl taking over
// a fleet another tool deployed. Like StartApp it first stops what runs
// there; then, over SSH, it clones the fleet's repository (RepoDir, which
// the hosts see at the same path) into /srv/deploy/exampleapp/revs/<rev>,
// checks out <rev> detached (--force), and points `current` at it with a
// relative link, "revs/<rev>", switched atomically. There is no
// .deployctl-rev marker and no manifest. It starts the release with the
// start argv and returns the release directory as the host sees it; as with
// StartApp, a version that fails at start still returns here.
func (f *Fleet) StartAppScap(t testing.TB, host, tag string) string {
	t.Helper()
	h := f.Host(t, host)
	rev := f.Rev(tag)
	if rev == "" {
		t.Fatalf("fleet: unknown tag %q", tag)
	}
	appDir, err := f.appDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	if err := f.stopApp(ctx, host); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Exec(ctx, host, nil, "sh", "-c", scapScript, "sh", appDir, rev, f.RepoDir); err != nil {
		t.Fatalf("fleet: scap-style clone of %s on %s: %v", tag, host, err)
	}
	rel := path.Join(appDir, "revs", rev)
	if err := f.startRelease(ctx, h, tag, rel); err != nil {
		t.Fatal(err)
	}
	return rel
}

// WipeDeploy stops the app on host and removes /srv/deploy/exampleapp
// (every release, `current`, whatever deployctl kept there), leaving a host
// that was never deployed to.
func (f *Fleet) WipeDeploy(t testing.TB, host string) {
	t.Helper()
	f.Host(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	if err := f.wipeDeploy(ctx, host); err != nil {
		t.Fatal(err)
	}
}

func (f *Fleet) wipeDeploy(ctx context.Context, host string) error {
	appDir, err := f.appDir()
	if err != nil {
		return err
	}
	if err := f.stopApp(ctx, host); err != nil {
		return err
	}
	if _, _, err := f.Exec(ctx, host, nil, "rm", "-rf", "--", appDir); err != nil {
		return fmt.Errorf("fleet: wipe %s on %s: %v", appDir, host, err)
	}
	return nil
}

// RestoreStandard puts every host back the way fleet.sh up leaves it, for
// t.Cleanup of tests that change the layout, the version or the pool: it
// pools every host in etcd ({"pooled":"yes","weight":10}); on every host at
// once, it wipes /srv/deploy/exampleapp (WipeDeploy) and starts v1 staged as
// StartApp stages it (revs/<rev> with its .deployctl-rev marker, `current`
// -> revs/<rev>); then it waits up to RestoreTimeout until every host
// answers v1 and HAProxy has every server UP. Only the app directory, the
// app and the pool keys are reset; the hosts' logs are kept.
func (f *Fleet) RestoreStandard(t testing.TB) {
	t.Helper()
	for _, h := range f.Hosts {
		if err := f.putPool(context.Background(), h.Name, "yes"); err != nil {
			t.Fatalf("fleet: restore: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	errs := make([]error, len(f.Hosts))
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		wg.Go(func() {
			if err := f.wipeDeploy(ctx, h.Name); err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = f.startApp(ctx, h, standardTag)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("fleet: restore: %v", err)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), RestoreTimeout)
	defer wcancel()
	if err := f.waitStandard(wctx); err != nil {
		t.Fatalf("fleet: restore: %v", err)
	}
}

// appDir is <deploy_dir>/<app> on the hosts, refused when fleet.json makes
// it something else (rm -rf runs on it).
func (f *Fleet) appDir() (string, error) {
	if !path.IsAbs(f.DeployDir) || path.Clean(f.DeployDir) == "/" ||
		f.App == "" || f.App == "." || f.App == ".." || strings.Contains(f.App, "/") {
		return "", fmt.Errorf("fleet: bad deploy_dir %q or app %q in fleet.json", f.DeployDir, f.App)
	}
	return path.Join(f.DeployDir, f.App), nil
}

// SetPooled writes host's pool key as fleet.sh up does (weight 10), with
// pooled "yes", "no" or "inactive": a test's own change or cleanup, not
// deployctl's.
func (f *Fleet) SetPooled(t testing.TB, host, pooled string) {
	t.Helper()
	if err := f.putPool(context.Background(), host, pooled); err != nil {
		t.Fatalf("fleet: %v", err)
	}
}

// putPool writes host's pool key with weight 10, as fleet.sh up does.
func (f *Fleet) putPool(ctx context.Context, host, pooled string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: f.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, f.PoolKey(host), `{"pooled":"`+pooled+`","weight":10}`); err != nil {
		return fmt.Errorf("etcd put %s: %w", f.PoolKey(host), err)
	}
	return nil
}

// waitStandard polls until every host answers /version with v1 and HAProxy
// has every server UP, or ctx ends.
func (f *Fleet) waitStandard(ctx context.Context) error {
	want := standardTag + "\n"
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		var wrong []string
		for _, h := range f.Hosts {
			if v := getBody(ctx, client, h.AppURL()+"/version"); v != want {
				wrong = append(wrong, fmt.Sprintf("%s answers version %q", h.Name, v))
			}
		}
		st, err := f.ServerStatus(ctx)
		if err != nil {
			wrong = append(wrong, err.Error())
		}
		for _, h := range f.Hosts {
			if err == nil && st[h.Name] != "UP" {
				wrong = append(wrong, fmt.Sprintf("%s is %q in HAProxy", h.Name, st[h.Name]))
			}
		}
		if len(wrong) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			sort.Strings(wrong)
			return fmt.Errorf("hosts not back on %s, pooled and UP: %s", standardTag, strings.Join(wrong, "; "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// getBody returns the body of a 200 answer to GET url, or a description of
// what came instead.
func getBody(ctx context.Context, client *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}
