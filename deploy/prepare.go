package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/state"
)

// prepared is a Request resolved and checked before any host changes:
// pinned revs, rendered configuration, and the schema guard's verdict.
type prepared struct {
	kind          state.Kind
	ref           string
	rev           string // the code every host will run
	templateRev   string // where the config templates came from
	configs       map[string]*configset.Set
	configVersion string
	schema        int // schema version of rev (0 without schema_version_file)
	// guard refuses returning a host to a rev below the schema version
	// this rollout applies; nil without schema_version_file.
	guard func(ctx context.Context, rev string) error
}

func (p *prepared) configVersions() map[string]string {
	if len(p.configs) == 0 {
		return nil
	}
	out := make(map[string]string, len(p.configs))
	for h, s := range p.configs {
		out[h] = s.Version
	}
	return out
}

// prepare pins the revs, renders every host's configuration and applies
// the schema guard. Nothing on any host changes here.
func (d *Deployer) prepare(ctx context.Context, st state.State, req Request) (*prepared, error) {
	p := &prepared{ref: req.Ref, kind: state.KindCode}
	env := d.Env
	var err error
	switch {
	case req.ConfigOnly:
		if !env.Files.Enabled() {
			return nil, usageErrorf("--config-only: %s deploys no config files (add a config: section)", env.Name)
		}
		if st.LastGood.Rev == "" {
			return nil, fmt.Errorf("--config-only keeps the last good code, and %s has none yet: roll out code first", env.Name)
		}
		p.kind, p.rev = state.KindConfig, st.LastGood.Rev
		p.templateRev = req.TemplateRev
		if p.templateRev == "" && req.Ref != "" {
			if p.templateRev, err = d.Source.Resolve(ctx, req.Ref); err != nil {
				return nil, err
			}
		}
		if p.templateRev == "" {
			p.templateRev = st.LastGood.TemplateRev
		}
		if p.templateRev == "" {
			p.templateRev = p.rev
		}
		if p.ref == "" {
			p.ref = "config@" + gitsrc.Short(p.templateRev)
		}
	default:
		p.rev = req.Rev
		if p.rev == "" {
			if p.rev, err = d.Source.Resolve(ctx, req.Ref); err != nil {
				return nil, err
			}
		}
		p.templateRev = req.TemplateRev
		if p.templateRev == "" {
			p.templateRev = p.rev
		}
		if env.Files.Enabled() {
			p.kind = state.KindBoth
		}
	}
	if env.Files.Enabled() {
		if p.configs, err = RenderConfigs(ctx, env, d.Source, p.templateRev, p.rev); err != nil {
			return nil, fmt.Errorf("config: nothing changed: %w", err)
		}
		p.configVersion = ConfigVersion(p.configs)
	}
	if err := d.schemaGuard(ctx, st, req, p); err != nil {
		return nil, err
	}
	return p, nil
}

// schemaGuard applies the storage schema rules (the RESTBase process): the
// schema version is applied by the code at start and never goes down. A rev
// raising it needs AllowSchemaChange, and then a rollback below it is
// refused; a rev below the deployed version is refused outright, with what
// to do instead.
func (d *Deployer) schemaGuard(ctx context.Context, st state.State, req Request, p *prepared) error {
	file := d.Env.SchemaVersionFile
	if file == "" {
		return nil
	}
	var err error
	if p.schema, err = d.readSchema(ctx, p.rev); err != nil {
		return err
	}
	good := st.LastGood.Schema
	if st.LastGood.Rev != "" && good == 0 {
		if good, err = d.readSchema(ctx, st.LastGood.Rev); err != nil {
			return err
		}
	}
	deployed := max(st.Schema, good)
	switch {
	case p.schema < deployed:
		return fmt.Errorf("%w: %s (%s) has schema version %d in %s, below the deployed schema version %d, which the storage will not go back from. "+
			"To return to this code, commit a change raising %s to %d on top of %s and deploy that commit",
			ErrSchema, p.ref, gitsrc.Short(p.rev), p.schema, file, deployed, file, deployed, gitsrc.Short(p.rev))
	case p.schema > deployed && !req.AllowSchemaChange:
		return fmt.Errorf("%w: %s (%s) raises the schema version in %s from %d to %d; deploy it with --allow-schema-change "+
			"(once a host starts it, returning to %s needs a commit raising its schema version to %d)",
			ErrSchema, p.ref, gitsrc.Short(p.rev), file, deployed, p.schema, orNone(gitsrc.Short(st.LastGood.Rev)), p.schema)
	}
	p.guard = d.schemaFloor(max(deployed, p.schema))
	return nil
}

// schemaFloor is the schema guard of a rollback: returning a host to rev
// is refused when rev's schema version is below floor, the version the
// storage has (or will have once a host starts the new code), because the
// storage never goes back. It reads schema_version_file at each rev
// involved, whatever last good recorded.
func (d *Deployer) schemaFloor(floor int) func(ctx context.Context, rev string) error {
	file := d.Env.SchemaVersionFile
	if file == "" {
		return nil
	}
	return func(ctx context.Context, rev string) error {
		n, err := d.readSchema(ctx, rev)
		if err != nil {
			return err
		}
		if n < floor {
			return fmt.Errorf("%w: returning to %s is refused: it has schema version %d in %s and the storage has %d, which it will not go back from; "+
				"to return, commit a change raising %s to %d on top of %s and roll that out",
				ErrSchema, gitsrc.Short(rev), n, file, floor, file, floor, gitsrc.Short(rev))
		}
		return nil
	}
}

// readSchema reads schema_version_file at rev: 0 when rev has none.
func (d *Deployer) readSchema(ctx context.Context, rev string) (int, error) {
	file := d.Env.SchemaVersionFile
	b, err := d.Source.ReadFile(ctx, rev, file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // no schema yet: version 0
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s at %s: want a schema version (a whole number), got %q", file, gitsrc.Short(rev), strings.TrimSpace(string(b)))
	}
	return n, nil
}

// orNone shows "" as "none".
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
