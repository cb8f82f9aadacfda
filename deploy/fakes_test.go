package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/release"
)

// fakeFleet is an in-memory fleet: what runs where, what is pooled, and every
// action in order, for unit tests of the orchestrator.
type fakeFleet struct {
	mu        sync.Mutex
	current   map[string]string // host -> rev current points at
	running   map[string]string // host -> rev running ("" stopped)
	pooled    map[string]pool.Pooled
	log       []string
	failCheck map[string]bool   // rev -> depooled checks fail
	failAct   map[string]string // host -> rev whose activation fails
	unreach   map[string]bool   // host -> cannot connect
	onStep    func(host, action string)
	staged    []string        // revs staged, in order
	canary    bool            // a canary-stage check is configured
	canarySaw map[string]bool // host -> the canary check got that host's baseline
	// stoppedPooled lists every stop of a host that was still pooled: a
	// broken promise, whatever the test.
	stoppedPooled []string
	failRepool    map[string]bool // host -> Repool fails
	panicCheck    map[string]bool // host -> its checks panic
}

func newFleet(hosts []string, rev string) *fakeFleet {
	f := &fakeFleet{current: map[string]string{}, running: map[string]string{}, pooled: map[string]pool.Pooled{},
		failCheck: map[string]bool{}, failAct: map[string]string{}, unreach: map[string]bool{},
		failRepool: map[string]bool{}, panicCheck: map[string]bool{}}
	for _, h := range hosts {
		f.current[h], f.running[h], f.pooled[h] = rev, rev, pool.PooledYes
	}
	return f
}

func (f *fakeFleet) record(host, action string) {
	f.mu.Lock()
	f.log = append(f.log, host+" "+action)
	cb := f.onStep
	f.mu.Unlock()
	if cb != nil {
		cb(host, action)
	}
}

func (f *fakeFleet) actions(host string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if h, a, _ := strings.Cut(l, " "); h == host {
			out = append(out, a)
		}
	}
	return out
}

// Connector
func (f *fakeFleet) Runner(_ context.Context, host string) (Runner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreach[host] {
		return nil, fmt.Errorf("dial %s: connection refused", host)
	}
	return &fakeRunner{f: f, host: host}, nil
}

type fakeRunner struct {
	f    *fakeFleet
	host string
}

func (r *fakeRunner) Host() string { return r.host }

func (r *fakeRunner) Stream(ctx context.Context, stdin io.Reader, _ io.Writer, argv ...string) error {
	_, err := r.Run(ctx, stdin, argv...)
	return err
}

func (r *fakeRunner) Run(ctx context.Context, _ io.Reader, argv ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := r.f
	switch argv[0] {
	case "sh": // preflight
		return []byte("1048576\n"), nil
	case "svc-stop":
		f.mu.Lock()
		if f.pooled[r.host] == pool.PooledYes {
			f.stoppedPooled = append(f.stoppedPooled, r.host)
		}
		f.running[r.host] = ""
		f.mu.Unlock()
		f.record(r.host, "stop")
	case "svc-start":
		f.mu.Lock()
		f.running[r.host] = f.current[r.host]
		f.mu.Unlock()
		f.record(r.host, "start")
	default:
		return nil, fmt.Errorf("unexpected argv %q", argv)
	}
	return nil, nil
}

// Pooler
func (f *fakeFleet) State(_ context.Context, host string) (pool.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return pool.State{Pooled: f.pooled[host], Weight: 10}, nil
}

func (f *fakeFleet) Depool(_ context.Context, host string) (pool.Prior, error) {
	f.mu.Lock()
	before := pool.State{Pooled: f.pooled[host], Weight: 10}
	if f.pooled[host] != pool.PooledYes {
		f.mu.Unlock()
		return pool.Prior{Host: host, Before: before}, fmt.Errorf("%s: %w", host, pool.ErrNotPooled)
	}
	f.pooled[host] = pool.PooledNo
	f.mu.Unlock()
	f.record(host, "depool")
	return pool.Prior{Host: host, Changed: true, Before: before}, nil
}

func (f *fakeFleet) Repool(_ context.Context, host string, p pool.Prior) error {
	if !p.Changed {
		return nil
	}
	f.mu.Lock()
	if f.failRepool[host] {
		f.mu.Unlock()
		return fmt.Errorf("repool %s: etcd did not answer", host)
	}
	f.pooled[host] = p.Before.Pooled
	f.mu.Unlock()
	f.record(host, "repool")
	return nil
}

func (f *fakeFleet) Budget(_ context.Context, out []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	serving := 0
	for h, p := range f.pooled {
		if p == pool.PooledYes && !slices.Contains(out, h) {
			serving++
		}
	}
	if serving < 1 {
		return fmt.Errorf("%w: nobody left", pool.ErrBudget)
	}
	return nil
}

// Releaser
func (f *fakeFleet) Stage(_ context.Context, hosts []Runner, rev string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.staged = append(f.staged, rev)
	return 0, nil
}

func (f *fakeFleet) Activate(_ context.Context, r Runner, rev string) error {
	host := r.(*fakeRunner).host
	f.mu.Lock()
	if f.failAct[host] == rev {
		f.mu.Unlock()
		return errors.New("disk full")
	}
	f.current[host] = rev
	f.mu.Unlock()
	f.record(host, "activate "+rev)
	return nil
}

func (f *fakeFleet) Live(_ context.Context, r Runner) (release.LiveRelease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return release.LiveRelease{Rev: f.current[r.(*fakeRunner).host]}, nil
}

func (f *fakeFleet) Prune(context.Context, Runner, int, ...string) error { return nil }

// Checker
func (f *fakeFleet) Prepare(_ context.Context, host string, _ Runner) (*checks.Baseline, error) {
	return &checks.Baseline{Host: host}, nil
}

func (f *fakeFleet) Run(_ context.Context, st checks.Stage, host string, _ Runner, b *checks.Baseline) []checks.Result {
	f.mu.Lock()
	if st == checks.StageCanary {
		if f.canarySaw == nil {
			f.canarySaw = map[string]bool{}
		}
		f.canarySaw[host] = b != nil && b.Host == host
	}
	rev := f.running[host]
	bad := f.failCheck[rev]
	boom := f.panicCheck[host]
	f.mu.Unlock()
	if boom {
		panic("check exploded on " + host)
	}
	res := checks.Result{Name: "healthz", Kind: checks.KindHTTP, Stage: st, Host: host, Verdict: checks.Pass, Evidence: "200 ok"}
	if bad && st == checks.StageDepooled {
		res.Verdict, res.Evidence = checks.Fail, "503 unhealthy"
		res.Err = fmt.Errorf("healthz: %w: status 503", checks.ErrFailed)
	}
	return []checks.Result{res}
}

func (f *fakeFleet) Has(st checks.Stage) bool {
	return st == checks.StageDepooled || st == checks.StageCanary && f.canary
}

// testEnv builds an environment of hosts h1..hN in groups canary [h1] and
// main [rest], with a service port that is always open.
func testEnv(t *testing.T, n int, mutate func(*inventory.Env)) *inventory.Env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	env := &inventory.Env{Name: "test", Config: inventory.Config{
		App: "app", DeployDir: "/srv/deploy", KeepReleases: 3,
		Service: inventory.Service{Start: []string{"svc-start", "{host}"}, Stop: []string{"svc-stop", "{host}"}, Port: port,
			StopTimeout: 5 * time.Second, StartTimeout: 5 * time.Second, PortTimeout: 2 * time.Second},
		Rollout: inventory.Rollout{BatchSize: inventory.BatchSize{{N: 1}}, HealthyDeadline: 5 * time.Second, ProgressDeadline: time.Minute},
	}}
	var main []string
	for i := 1; i <= n; i++ {
		h := "h" + strconv.Itoa(i)
		env.Hosts = append(env.Hosts, inventory.Host{Name: h, Address: "127.0.0.1"})
		if i > 1 {
			main = append(main, h)
		}
	}
	env.Groups = inventory.Groups{{Name: "canary", Hosts: []string{"h1"}}, {Name: "main", Hosts: main}}
	if mutate != nil {
		mutate(env)
	}
	testingT[env] = t
	return env
}

// testingT lets testEngine check, after every test, that no host was
// stopped while pooled.
var testingT = map[*inventory.Env]*testing.T{}

func testEngine(env *inventory.Env, f *fakeFleet) (*Engine, *[]Event) {
	if t, ok := testingT[env]; ok {
		t.Cleanup(func() {
			if len(f.stoppedPooled) > 0 {
				t.Errorf("hosts stopped while pooled: %v", f.stoppedPooled)
			}
		})
	}
	var mu sync.Mutex
	events := &[]Event{}
	e := &Engine{Env: env, Hosts: f, Pool: f, Releases: f, Checks: f,
		Events: func(ev Event) { mu.Lock(); *events = append(*events, ev); mu.Unlock() }}
	return e, events
}
