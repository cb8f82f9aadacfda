package release_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
)

// fleet is n real sshd hosts, one client each from one Pool, and a deploy
// dir per host (they share this machine's filesystem).
type fleet struct {
	*sshdtest.Fleet
	pool    *sshx.Pool
	clients []*sshx.Client
	hosts   []release.Host
}

func startFleet(t testing.TB, n int) *fleet {
	t.Helper()
	f := &fleet{Fleet: sshdtest.StartFleet(t, n)}
	t.Setenv("SSH_AUTH_SOCK", "")
	pool, err := sshx.NewPool(sshx.Config{
		IdentityFiles:  sshx.Paths{f.Key.File},
		KnownHosts:     sshx.Paths{f.KnownHosts},
		ConfigFile:     sshx.ConfigFileNone,
		ConnectTimeout: 5 * time.Second,
		CommandTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	f.pool = pool
	for _, s := range f.Servers {
		c, err := pool.Client(context.Background(), sshx.Target{Name: s.Name, Address: s.IP, Port: s.Port})
		if err != nil {
			t.Fatal(err)
		}
		f.clients = append(f.clients, c)
		dir := filepath.Join(t.TempDir(), "srv-"+s.Name)
		f.hosts = append(f.hosts, release.Host{Runner: c, Layout: release.Layout{DeployDir: dir, App: "app"}})
	}
	return f
}

func (f *fleet) sent() (n int64) {
	for _, c := range f.clients {
		n += c.Stats().BytesSent
	}
	return n
}

func TestStageAllFleet(t *testing.T) {
	f := startFleet(t, 3)
	ctx := context.Background()
	tree := append(weirdTree(), bigFiles(4, 1<<20)...) // ~4 MB, so the transfers overlap
	stream := tarOf(t, tree)
	var calls atomic.Int64

	var mu sync.Mutex
	var windows [][2]time.Time
	opts := release.StageOptions{Parallel: 3, OnDone: func(r release.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		end := time.Now()
		windows = append(windows, [2]time.Time{end.Add(-r.Duration), end})
	}}
	before := f.sent()
	results, err := release.StageAll(ctx, f.hosts, revA, archiveOf(stream, &calls), opts)
	if err != nil {
		t.Fatal(err)
	}
	firstSent := f.sent() - before
	if calls.Load() != 1 {
		t.Fatalf("archive made %d times, want once for all hosts", calls.Load())
	}
	for i, res := range results {
		if res.Skipped || res.Bytes != int64(len(stream)) || res.Host != f.Servers[i].Name {
			t.Fatalf("host %d: %+v", i, res)
		}
		assertTree(t, f.hosts[i].Layout.Release(revA), tree)
	}
	// In parallel: every host's staging overlapped every other's.
	latestStart, earliestEnd := windows[0][0], windows[0][1]
	for _, w := range windows {
		if w[0].After(latestStart) {
			latestStart = w[0]
		}
		if w[1].Before(earliestEnd) {
			earliestEnd = w[1]
		}
	}
	if !latestStart.Before(earliestEnd) {
		t.Fatalf("stagings did not overlap: %v", windows)
	}
	if firstSent < 3*int64(len(stream)) {
		t.Fatalf("sent %d bytes over SSH for 3 x %d", firstSent, len(stream))
	}

	// Second staging of the same rev: measured on the SSH transport, only
	// the inspect commands travel; no archive byte is sent or even made.
	before = f.sent()
	results, err = release.StageAll(ctx, f.hosts, revA, archiveOf(stream, &calls), opts)
	if err != nil {
		t.Fatal(err)
	}
	secondSent := f.sent() - before
	for _, res := range results {
		if !res.Skipped || res.Bytes != 0 {
			t.Fatalf("second staging: %+v", res)
		}
	}
	if calls.Load() != 1 {
		t.Fatal("archive made again for a staged rev")
	}
	t.Logf("first staging sent %d bytes over SSH, second %d (archive %d bytes, 3 hosts)", firstSent, secondSent, len(stream))
	if secondSent > 64<<10 {
		t.Fatalf("second staging sent %d bytes over SSH: more than its commands", secondSent)
	}

	// Activation over SSH; files are intact through current.
	for _, h := range f.hosts {
		if err := release.Activate(ctx, h.Runner, h.Layout, revA); err != nil {
			t.Fatal(err)
		}
		assertTree(t, h.Layout.Current(), tree)
		if got, err := release.Current(ctx, h.Runner, h.Layout); err != nil || got != revA {
			t.Fatalf("current on %s: %q, %v", h.Runner.Host(), got, err)
		}
	}
	if _, err := os.Stat("/root/pwned"); err == nil {
		t.Fatal("a file name was run as a command on the host")
	}
}

func TestStageAllFailureNamesHost(t *testing.T) {
	f := startFleet(t, 3)
	stream := tarOf(t, weirdTree())
	// h2's deploy dir cannot be created: a file stands in its way.
	bad := f.hosts[1].Layout
	if err := os.MkdirAll(filepath.Dir(bad.DeployDir), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, bad.DeployDir, "not a dir")
	results, err := release.StageAll(context.Background(), f.hosts, revA, archiveOf(stream, nil), release.StageOptions{})
	if err == nil || !containsAll(err.Error(), "h2", "stage aaaaaaaaaaaa") {
		t.Fatalf("err = %v, want a failure naming h2", err)
	}
	for _, i := range []int{0, 2} {
		if results[i].Bytes == 0 || !exists(f.hosts[i].Layout.Release(revA)) {
			t.Fatalf("%s was not staged although only h2 failed: %+v", f.Servers[i].Name, results[i])
		}
	}
}

func TestStageInterruptedOverSSH(t *testing.T) {
	tree := append(weirdTree(), bigFiles(2, 1<<20)...)
	stream := tarOf(t, tree)
	tests := []struct {
		name string
		cut  func(f *fleet, proxy *sshdtest.Proxy, cancel context.CancelFunc)
		want error
	}{
		{"context cancelled mid-stream", func(_ *fleet, _ *sshdtest.Proxy, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"connection dropped mid-stream", func(_ *fleet, p *sshdtest.Proxy, _ context.CancelFunc) { p.DropAll() }, sshx.ErrConnLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFleet(t, 1)
			s := f.Servers[0]
			proxy := sshdtest.NewProxy(t, s.IP, s.Addr())
			known := filepath.Join(t.TempDir(), "known_hosts")
			write(t, known, fmt.Sprintf("[%s]:%d %s\n", proxy.IP, proxy.Port, s.HostKey.PublicKey))
			c, err := sshx.Dial(context.Background(), sshx.Config{
				IdentityFiles: sshx.Paths{f.Key.File}, KnownHosts: sshx.Paths{known}, ConfigFile: sshx.ConfigFileNone,
			}, sshx.Target{Name: s.Name, Address: proxy.IP, Port: proxy.Port})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l := f.hosts[0].Layout

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err = release.Stage(ctx, c, l, revA, func(ctx context.Context, w io.Writer) error {
				if _, err := w.Write(stream[:len(stream)/2]); err != nil {
					return err
				}
				// Half the archive is on its way; wait until the host has
				// begun writing it, then cut.
				deadline := time.Now().Add(10 * time.Second)
				for !exists(filepath.Join(l.Partial(revA), "README")) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				tt.cut(f, proxy, cancel)
				_, err := w.Write(stream[len(stream)/2:])
				return err
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			t.Logf("interrupted: %v (partial left: %v)", err, exists(l.Partial(revA)))
			if exists(l.Release(revA)) {
				t.Fatal("an interrupted staging left revs/<rev>")
			}
			st, err := release.Inspect(context.Background(), c, l, revA)
			if err != nil || st.State != release.Absent {
				t.Fatalf("inspect after interruption: %+v, %v", st, err)
			}
			// Whatever .partial is left, the next staging cleans it up.
			res, err := release.Stage(context.Background(), c, l, revA, archiveOf(stream, nil))
			if err != nil || res.Skipped {
				t.Fatalf("restage: %+v, %v", res, err)
			}
			assertTree(t, l.Release(revA), tree)
			if exists(l.Partial(revA)) {
				t.Fatal(".partial left after restaging")
			}
		})
	}
}

func TestCurrentNeverMissingOverSSH(t *testing.T) {
	f := startFleet(t, 1)
	testCurrentNeverMissing(t, f.hosts[0].Runner, f.hosts[0].Layout, 100)
}

// bigFiles returns n files of size bytes each, of pseudo-random content
// (incompressible, like node_modules' binaries and minified code).
func bigFiles(n, size int) []entry {
	var out []entry
	x := uint64(88172645463325252)
	for i := range n {
		b := make([]byte, size)
		for j := 0; j+8 <= len(b); j += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			for k := range 8 {
				b[j+k] = byte(x >> (8 * k))
			}
		}
		out = append(out, entry{name: fmt.Sprintf("node_modules/pkg%03d/blob.bin", i), mode: 0o644, content: string(b)})
	}
	return out
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
