package deploy

import (
	"context"
	"fmt"
	"io"
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

// Engine runs rollouts of one environment. Its parts are the small
// interfaces of this package; New wires the real ones.
type Engine struct {
	Env      *inventory.Env
	Hosts    Connector
	Pool     Pooler
	Releases Releaser
	Checks   Checker
	// Configs ships and links rendered configuration; nil when the
	// environment deploys no config files.
	Configs Configurer
	// Archive writes the tree of rev as a tar stream (gitsrc).
	Archive func(ctx context.Context, rev string, w io.Writer) error
	Events  Sink
	Log     *slog.Logger
	// OnHeld, when set, is told every time the set of hosts this rollout
	// holds depooled changes, with what Repool needs to restore them, so a
	// crashed rollout's hosts can be repooled by the next process (abort).
	OnHeld func(map[string]pool.Prior)

	opts Options // of the run in progress

	mu      sync.Mutex
	priors  map[string]pool.Prior // hosts this rollout depooled and has not repooled yet
	touched []string              // hosts stopped by this rollout, in order
	// baselines are what the checks recorded before each host's stop, for
	// the canary checks after the first group.
	baselines map[string]*checks.Baseline
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
	// NoRollback, when set, says why returning to last good is refused
	// (the schema guard): a failed host is then left depooled and named.
	NoRollback string
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
	Outcome      Outcome       `json:"outcome"`
	Ref          string        `json:"ref"`
	Rev          string        `json:"rev"`
	LastGood     string        `json:"last_good,omitempty"`
	Changed      []string      `json:"changed,omitempty"`       // hosts that were switched to rev, in order
	Done         []string      `json:"done,omitempty"`          // hosts that finished on rev
	FailedHost   string        `json:"failed_host,omitempty"`   // the host whose step failed first
	FailedStep   string        `json:"failed_step,omitempty"`   // and which step
	Reason       string        `json:"reason,omitempty"`        // what it saw
	Tolerated    []string      `json:"tolerated,omitempty"`     // failed hosts within failure_limit, returned to last good
	LeftDepooled []string      `json:"left_depooled,omitempty"` // hosts a person must look at
	LeftAlone    []string      `json:"left_alone,omitempty"`    // hosts someone else had depooled; deployed, not repooled
	Duration     time.Duration `json:"duration_ns"`
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

func (e *Engine) setPrior(host string, p pool.Prior) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.priors == nil {
		e.priors = map[string]pool.Prior{}
	}
	e.priors[host] = p
	e.notifyHeld()
}

func (e *Engine) takePrior(host string) (pool.Prior, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.priors[host]
	return p, ok
}

func (e *Engine) clearPrior(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.priors, host)
	e.notifyHeld()
}

// notifyHeld reports the held hosts; e.mu is held.
func (e *Engine) notifyHeld() {
	if e.OnHeld != nil {
		e.OnHeld(maps.Clone(e.priors))
	}
}

// Hold seeds the hosts a previous (crashed) rollout left depooled, so that
// Restore repools them instead of leaving them out as someone else's.
func (e *Engine) Hold(held map[string]pool.Prior) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.priors == nil {
		e.priors = map[string]pool.Prior{}
	}
	for h, p := range held {
		e.priors[h] = p
	}
}

// markTouched records that host is about to change (its service stops).
func (e *Engine) markTouched(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.touched, host) {
		e.touched = append(e.touched, host)
	}
}

func (e *Engine) touchedHosts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.touched)
}

func (e *Engine) setBaseline(host string, b *checks.Baseline) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.baselines == nil {
		e.baselines = map[string]*checks.Baseline{}
	}
	e.baselines[host] = b
}

func (e *Engine) baseline(host string) *checks.Baseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baselines[host]
}
