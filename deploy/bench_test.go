package deploy

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/internal/testfleet"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// The benchmark runs on a 10-host fleet; the unit tests need none (the
// fleet starts on the first testfleet.Get).
func TestMain(m *testing.M) { os.Exit(testfleet.Main(m, testfleet.Options{Hosts: 10})) }

// benchOverlay keeps only what the pipeline itself needs: one endpoint
// check while depooled, no soak, one host at a time.
const benchOverlay = `
checks:
  - {name: healthz, type: http, stage: depooled, url: "http://{address}:{port}/healthz", expect_status: 200, timeout: 5s}
rollout:
  canary_wait: 0s
  batch_size: 1
`

// BenchmarkRolloutOverhead rolls the example app between v1 and v2 across
// a 10-host loopback fleet and reports deployctl's own cost per host: the
// time a host is out of the pool minus the service's own stop, start,
// bind and checks (DESIGN: under 50 ms per host).
func BenchmarkRolloutOverhead(b *testing.B) {
	f := testfleet.Get(b)
	dir := b.TempDir()
	base, err := os.ReadFile(f.ConfigFile)
	if err != nil {
		b.Fatal(err)
	}
	inv, err := os.ReadFile(filepath.Join(filepath.Dir(f.ConfigFile), "environments", f.EnvName, "inventory.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	writeFile(b, filepath.Join(dir, "deployctl.yaml"), string(base))
	writeFile(b, filepath.Join(dir, "environments", f.EnvName, "inventory.yaml"), string(inv)+benchOverlay)
	p, err := inventory.Open(filepath.Join(dir, "deployctl.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	env, err := p.Env(f.EnvName)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	src, err := gitsrc.Open(ctx, f.RepoDir, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ssh, err := sshx.NewPool(env.SSH)
	if err != nil {
		b.Fatal(err)
	}
	defer ssh.Close()
	ph, err := NewPoolHosts(env)
	if err != nil {
		b.Fatal(err)
	}
	defer ph.Close()
	cs, err := NewCheckSet(env, nil)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var events []Event
	e := &Engine{Env: env, Hosts: &SSHHosts{Env: env, Pool: ssh}, Pool: ph, Releases: NewReleases(env, src), Checks: cs,
		Events: func(ev Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }}
	revs := []string{f.Rev("v2"), f.Rev("v1")}
	last := f.Rev("v1")
	// Stage both once, so the timed rollouts measure the pipeline.
	if err := e.Stage(ctx, revs...); err != nil {
		b.Fatal(err)
	}
	var overhead, total, service time.Duration
	hosts := 0
	steps := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rev := revs[i%2]
		mu.Lock()
		events = nil
		mu.Unlock()
		if _, err := e.Rollout(ctx, ctx, Options{Ref: "bench", Rev: rev, LastGood: last}); err != nil {
			b.Fatal(err)
		}
		last = rev
		for _, ev := range events {
			if ev.Type == EventStep && ev.Status == StatusOK {
				steps[ev.Step] += ev.Elapsed
			}
		}
		o, t, s, n := overheadOf(events)
		overhead += o
		total += t
		service += s
		hosts += n
	}
	b.StopTimer()
	if hosts > 0 {
		b.ReportMetric(float64(overhead.Milliseconds())/float64(hosts), "overhead-ms/host")
		b.ReportMetric(float64(total.Milliseconds())/float64(hosts), "depooled-ms/host")
		b.ReportMetric(float64(service.Milliseconds())/float64(hosts), "service-ms/host")
		for _, st := range []Step{StepDepool, StepActivate, StepRepool} {
			b.ReportMetric(float64(steps[st.String()].Microseconds())/1000/float64(hosts), st.String()+"-ms/host")
		}
	}
}

// overheadOf sums, per host, the time from the start of depool to the end
// of repool, and the service's own part of it: stop, start, port and the
// depooled checks.
func overheadOf(events []Event) (overhead, total, service time.Duration, hosts int) {
	start := map[string]time.Time{}
	own := map[string]time.Duration{}
	for _, ev := range events {
		if ev.Type != EventStep || ev.Phase != "" {
			continue
		}
		switch {
		case ev.Step == StepDepool.String() && ev.Status == StatusStart:
			start[ev.Host] = ev.Time
		case ev.Status == StatusOK && (ev.Step == StepStop.String() || ev.Step == StepStart.String() ||
			ev.Step == StepPort.String() || ev.Step == StepChecksDepooled.String()):
			own[ev.Host] += ev.Elapsed
		case ev.Step == StepRepool.String() && ev.Status == StatusOK:
			t := ev.Time.Sub(start[ev.Host])
			total += t
			service += own[ev.Host]
			overhead += t - own[ev.Host]
			hosts++
		}
	}
	return overhead, total, service, hosts
}

func writeFile(b testing.TB, path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}
