package deploy

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/deployctl/deployctl/pkg/configset"
)

// fakeConfigs records what a run does with configuration.
type fakeConfigs struct {
	mu      sync.Mutex
	current map[string]string   // host -> linked version
	pruned  map[string][]string // host -> versions a prune kept
}

func (c *fakeConfigs) Ship(context.Context, Runner, *configset.Set) (int64, error) { return 0, nil }

func (c *fakeConfigs) Link(_ context.Context, r Runner, set *configset.Set) error {
	return c.LinkVersion(context.Background(), r, set.Version)
}

func (c *fakeConfigs) LinkVersion(_ context.Context, r Runner, v string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current[r.Host()] = v
	return nil
}

func (c *fakeConfigs) Current(_ context.Context, r Runner) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current[r.Host()], nil
}

func (c *fakeConfigs) Prune(_ context.Context, r Runner, _ int, protect ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruned[r.Host()] = slices.Clone(protect)
	return nil
}

// A finished rollout prunes old config versions as it prunes old
// releases, keeping the new version and the host's restore point.
func TestRolloutPrunesConfigVersions(t *testing.T) {
	f := newFleet(hosts(2), good)
	e, _ := testEngine(testEnv(t, 2, nil), f)
	cfg := &fakeConfigs{current: map[string]string{"h1": "aaaa", "h2": "bbbb"}, pruned: map[string][]string{}}
	e.Configs = cfg
	sets := map[string]*configset.Set{"h1": {Version: "cccc"}, "h2": {Version: "dddd"}}
	if _, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good, Configs: sets}); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string][]string{"h1": {"cccc", "aaaa"}, "h2": {"dddd", "bbbb"}} {
		if got := cfg.pruned[h]; !slices.Equal(got, want) {
			t.Errorf("%s: prune kept %v, want %v", h, got, want)
		}
		if cfg.current[h] != sets[h].Version {
			t.Errorf("%s links %s, want %s", h, cfg.current[h], sets[h].Version)
		}
	}
}
