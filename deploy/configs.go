package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// Configs is the Configurer over pkg/configset for one environment.
type Configs struct {
	Base string // <deploy_dir>/<app>
}

var _ Configurer = (*Configs)(nil)

// NewConfigs returns the environment's Configurer, or nil when it deploys
// no config files.
func NewConfigs(env *inventory.Env) Configurer {
	if !env.Files.Enabled() {
		return nil
	}
	return &Configs{Base: env.AppDir()}
}

// Ship puts set on the host.
func (c *Configs) Ship(ctx context.Context, r Runner, set *configset.Set) (int64, error) {
	return configset.Ship(ctx, r, c.Base, set)
}

// Link links set into place.
func (c *Configs) Link(ctx context.Context, r Runner, set *configset.Set) error {
	return configset.Link(ctx, r, c.Base, set)
}

// LinkVersion links a version already on the host.
func (c *Configs) LinkVersion(ctx context.Context, r Runner, version string) error {
	return configset.LinkVersion(ctx, r, c.Base, version)
}

// Current returns the linked version.
func (c *Configs) Current(ctx context.Context, r Runner) (string, error) {
	return configset.Current(ctx, r, c.Base)
}

// Prune removes old versions.
func (c *Configs) Prune(ctx context.Context, r Runner, keep int, protect ...string) error {
	_, err := configset.Prune(ctx, r, c.Base, keep, protect...)
	return err
}

// Templates reads template files at a rev; *gitsrc.Source is one.
type Templates interface {
	Files(ctx context.Context, rev, dir string) (map[string][]byte, error)
}

// RenderConfigs renders every host's configuration from the templates at
// templateRev, before any host changes. Every template error of every host
// is reported at once, naming the template file and line. rev is the code
// rev the hosts will run ({rev} in templates).
func RenderConfigs(ctx context.Context, env *inventory.Env, src Templates, templateRev, rev string) (map[string]*configset.Set, error) {
	spec := env.Files.WithDefaults()
	if !spec.Enabled() {
		return nil, nil
	}
	files, err := src.Files(ctx, templateRev, spec.Templates)
	if err != nil {
		return nil, fmt.Errorf("config templates %s/ at %s: %w", spec.Templates, gitsrc.Short(templateRev), err)
	}
	out := map[string]*configset.Set{}
	seen := map[string]bool{}
	var errs []error
	for _, h := range env.Hosts {
		set, err := configset.Render(files, spec, env.HostVars(h.Name, rev))
		if err != nil {
			if !seen[err.Error()] { // the same template error on every host, once
				seen[err.Error()] = true
				errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
			}
			continue
		}
		out[h.Name] = set
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ConfigVersion names the configuration of a whole environment: a hash of
// every host's version (hosts' versions differ when their vars do), or ""
// when there are none.
func ConfigVersion(sets map[string]*configset.Set) string {
	if len(sets) == 0 {
		return ""
	}
	versions := map[string]string{}
	for h, s := range sets {
		versions[h] = s.Version
	}
	return combineVersions(versions)
}

func combineVersions(versions map[string]string) string {
	h := sha256.New()
	for _, host := range slices.Sorted(maps.Keys(versions)) {
		fmt.Fprintf(h, "%s=%s\n", host, versions[host])
	}
	return hex.EncodeToString(h.Sum(nil))[:configset.VersionLen]
}
