package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/pool"
)

// Engine is the wiring of one environment: the parts a run uses, built
// once. Each Rollout or Restore gets its own run (see run), so no two runs
// share mutable state.
type Engine struct {
	Env      *inventory.Env
	Hosts    Connector
	Pool     Pooler
	Releases Releaser
	Checks   Checker
	// Configs ships and links rendered configuration; nil when the
	// environment deploys no config files.
	Configs Configurer
	Events  Sink
	Log     *slog.Logger
}

// run is the state of one rollout or restore: what it was asked, what
// each host ran before, and what it holds and changed so far.
type run struct {
	*Engine
	opts Options
	rec  recorder // where the run is recorded; never nil

	// points are what each host ran before this rollout: where rollback
	// returns it. Written once after preflight, read-only afterwards.
	points map[string]RestorePoint

	mu      sync.Mutex
	priors  map[string]pool.Prior // hosts this run depooled and has not repooled yet
	touched []string              // hosts stopped by this run, in order
	// baselines are what the checks recorded before each host's stop, for
	// the canary checks after the first group.
	baselines map[string]*checks.Baseline
	live      map[string]string // host -> rev running, once changed ("" stopped)
	started   map[string]string // host -> rev whose code it last started (or tried to), or a crashed run may have
	panicked  string            // the run's first recovered panic, with its stack
	// recorded and ranNew: a restore's knowledge of the crashed run (see
	// RestoreOptions).
	recorded bool
	ranNew   []string
	// poolBefore is each host's pool state in preflight: what a crash in
	// the middle of its depool (say, during the drain) must restore.
	poolBefore map[string]pool.State
}

// newRun starts a run of o on e's parts, recorded by rec (nil: nowhere).
func (e *Engine) newRun(o Options, rec recorder) *run {
	if rec == nil {
		rec = noRecord{}
	}
	return &run{Engine: e, opts: o, rec: rec, priors: map[string]pool.Prior{}}
}

// Options choose what a rollout does.
type Options struct {
	Ref      string // what the user typed
	Rev      string // the pinned rev
	LastGood string // the rev to return to on failure; "" on the first rollout
	// Initial allows a rollout with no last good: a host that fails is
	// stopped, left depooled and named (there is nothing to return it to).
	Initial bool

	// Configs is each host's rendered configuration for this rollout; nil
	// when the environment deploys no config files.
	Configs map[string]*configset.Set
	// LastGoodConfigs is each host's config version to return to.
	LastGoodConfigs map[string]string
	// ConfigOnly keeps the code (Rev is the last good rev) and changes
	// configuration; with Reload the service is reloaded, not restarted.
	ConfigOnly bool
	Reload     bool
	// ConfigVersion names this rollout's configuration, for hooks.
	ConfigVersion string
	// Guard, when set, is asked before any host returns to an older rev
	// (the schema guard): an error says why it may not, and the host is
	// then left as it is — depooled if it failed, serving otherwise — and
	// named.
	Guard func(ctx context.Context, rev string) error
}

// RestorePoint is what one host ran before a rollout touched it: the rev
// current pointed at ("" for none) and the linked config version.
type RestorePoint struct {
	Rev    string `json:"rev"`
	Config string `json:"config,omitempty"`
}

// Outcome says how a rollout ended.
type Outcome string

// Outcomes.
const (
	OutcomeDone           Outcome = "done"
	OutcomeFailed         Outcome = "failed"          // before any host changed
	OutcomeRolledBack     Outcome = "rolled-back"     // every changed host is back on last good
	OutcomeRollbackFailed Outcome = "rollback-failed" // some hosts need a person
	OutcomeInterrupted    Outcome = "interrupted"
)

// Result is what a rollout did.
type Result struct {
	Outcome      Outcome  `json:"outcome"`
	Ref          string   `json:"ref"`
	Rev          string   `json:"rev"`
	LastGood     string   `json:"last_good,omitempty"`
	Changed      []string `json:"changed,omitempty"`       // hosts that were switched to rev, in order
	Done         []string `json:"done,omitempty"`          // hosts that finished on rev
	FailedHost   string   `json:"failed_host,omitempty"`   // the host whose step failed first
	FailedStep   string   `json:"failed_step,omitempty"`   // and which step
	Reason       string   `json:"reason,omitempty"`        // what it saw
	Tolerated    []string `json:"tolerated,omitempty"`     // failed hosts within failure_limit, returned to their restore point
	LeftDepooled []string `json:"left_depooled,omitempty"` // hosts this rollout took out of the pool and could not put back: a person must look
	NotReturned  []string `json:"not_returned,omitempty"`  // changed hosts that are not back on their restore point (depooled or not)
	LeftAlone    []string `json:"left_alone,omitempty"`    // hosts someone else had depooled; left out of the pool
	Refused      []string `json:"refused,omitempty"`       // not returned because the schema guard refused: left on the new code
	// Ended is the rev each changed host runs at the end ("" when stopped
	// with nothing to return to).
	Ended    map[string]string `json:"ended,omitempty"`
	Duration time.Duration     `json:"duration_ns"`
	// Panic is the recovered panic and its stack, when one ended the run.
	Panic string `json:"panic,omitempty"`
}

// Settled reports whether a failed rollback left the fleet whole: nothing
// out of the pool, and every host not back on its restore point kept on
// the new code by the schema guard. Such a fleet is mixed but serving; the
// way on is forward, so no record of an unfinished rollout is kept.
func (r *Result) Settled() bool {
	if len(r.LeftDepooled) > 0 {
		return false
	}
	for _, h := range r.NotReturned {
		if !slices.Contains(r.Refused, h) {
			return false
		}
	}
	return true
}

// emit records a phase change, then emits ev.
func (e *run) emit(ev Event) {
	if ev.Type == EventPhase {
		e.rec.phase(ev.Phase)
	}
	e.Engine.emit(ev)
}

func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if e.Events != nil {
		e.Events(ev)
	}
}

func (e *Engine) logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// hostError is a failure of one step on one host.
type hostError struct {
	Host string
	Step Step
	Err  error
}

func (h *hostError) Error() string { return fmt.Sprintf("%s: %s: %v", h.Host, h.Step, h.Err) }
func (h *hostError) Unwrap() error { return h.Err }

func (e *run) setPrior(host string, p pool.Prior) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.priors == nil {
		e.priors = map[string]pool.Prior{}
	}
	e.priors[host] = p
	e.notifyHeld()
}

func (e *run) takePrior(host string) (pool.Prior, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.priors[host]
	return p, ok
}

func (e *run) clearPrior(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.priors, host)
	e.notifyHeld()
}

// notifyHeld reports the hosts this rollout holds out of the pool; e.mu
// is held. A host someone else depooled is not ours to hold.
func (e *run) notifyHeld() {
	e.rec.held(e.heldLocked())
}

// heldLocked returns the hosts this rollout took out of the pool and has
// not put back; e.mu is held.
func (e *run) heldLocked() map[string]pool.Prior {
	out := map[string]pool.Prior{}
	for h, p := range e.priors {
		if p.Changed {
			out[h] = p
		}
	}
	return out
}

// held returns the hosts this rollout holds out of the pool, sorted.
func (e *run) held() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(maps.Keys(e.heldLocked()))
}

// leftAlone reports whether host was found depooled by someone else.
func (e *run) leftAlone(host string) bool {
	p, ok := e.takePrior(host)
	return ok && p.LeftAlone()
}

// point returns host's restore point.
func (e *run) point(host string) RestorePoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.points[host]
}

// setLive records the rev a host's current now points at, for Result.Ended.
func (e *run) setLive(host, rev string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live == nil {
		e.live = map[string]string{}
	}
	e.live[host] = rev
}

// ended returns the rev each of hosts ends on.
func (e *run) ended(hosts []string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(hosts) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, h := range hosts {
		out[h] = e.liveLocked(h)
	}
	return out
}

// setStarted records that host's service is about to start rev's code.
func (e *run) setStarted(host, rev string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started == nil {
		e.started = map[string]string{}
	}
	e.started[host] = rev
}

// startedRev returns the rev whose code host last started (or tried to):
// in a rollout, its restore point until the pipeline starts the new code;
// in Restore, what its current points at, which a crashed run may have
// started.
func (e *run) startedRev(host string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rev, ok := e.started[host]; ok {
		return rev
	}
	return e.points[host].Rev
}

func (e *run) liveLocked(host string) string {
	if rev, ok := e.live[host]; ok {
		return rev
	}
	return e.points[host].Rev
}

// markTouched records that host is about to change (its service stops).
func (e *run) markTouched(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.touched, host) {
		e.touched = append(e.touched, host)
	}
}

func (e *run) touchedHosts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.touched)
}

func (e *run) setBaseline(host string, b *checks.Baseline) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.baselines == nil {
		e.baselines = map[string]*checks.Baseline{}
	}
	e.baselines[host] = b
}

func (e *run) baseline(host string) *checks.Baseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baselines[host]
}

func (e *run) setPoolBefore(host string, st pool.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.poolBefore == nil {
		e.poolBefore = map[string]pool.State{}
	}
	e.poolBefore[host] = st
}

// holdDuringDepool records, before a depool writes anything, that host may
// be half way out of the pool, with its preflight state to restore: a
// rollout killed during the drain leaves it to abort, not to nobody.
func (e *run) holdDuringDepool(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.poolBefore[host]
	if _, held := e.priors[host]; held || !ok || st.Pooled != pool.PooledYes {
		return
	}
	if e.priors == nil {
		e.priors = map[string]pool.Prior{}
	}
	e.priors[host] = pool.Prior{Host: host, Changed: true, Before: st}
	e.notifyHeld()
}
