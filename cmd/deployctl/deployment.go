package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/state"
)

// ErrSchema marks a refusal by the schema guard.
var ErrSchema = errors.New("schema guard")

// deployment is a request resolved and checked before any host changes:
// pinned revs, rendered configuration, and the schema guard's verdict.
type deployment struct {
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

func (d *deployment) configVersions() map[string]string {
	if len(d.configs) == 0 {
		return nil
	}
	out := make(map[string]string, len(d.configs))
	for h, s := range d.configs {
		out[h] = s.Version
	}
	return out
}

// prepareDeploy pins the revs, renders every host's configuration and
// applies the schema guard. Nothing on any host changes here.
func prepareDeploy(ctx context.Context, a *app, st state.State, opts RolloutOptions, req request) (*deployment, error) {
	d := &deployment{ref: req.Ref, kind: state.KindCode}
	var err error
	switch {
	case req.ConfigOnly:
		if !a.env.Files.Enabled() {
			return nil, usageErrorf("--config-only: %s deploys no config files (add a config: section)", a.env.Name)
		}
		if st.LastGood.Rev == "" {
			return nil, fmt.Errorf("--config-only keeps the last good code, and %s has none yet: roll out code first", a.env.Name)
		}
		d.kind, d.rev = state.KindConfig, st.LastGood.Rev
		d.templateRev = req.TemplateRev
		if d.templateRev == "" && req.Ref != "" {
			if d.templateRev, err = a.src.Resolve(ctx, req.Ref); err != nil {
				return nil, err
			}
		}
		if d.templateRev == "" {
			d.templateRev = st.LastGood.TemplateRev
		}
		if d.templateRev == "" {
			d.templateRev = d.rev
		}
		if d.ref == "" {
			d.ref = "config@" + shortRev(d.templateRev)
		}
	default:
		d.rev = req.Rev
		if d.rev == "" {
			if d.rev, err = a.src.Resolve(ctx, req.Ref); err != nil {
				return nil, err
			}
		}
		d.templateRev = req.TemplateRev
		if d.templateRev == "" {
			d.templateRev = d.rev
		}
		if a.env.Files.Enabled() {
			d.kind = state.KindBoth
		}
	}
	if a.env.Files.Enabled() {
		if d.configs, err = deploy.RenderConfigs(ctx, a.env, a.src, d.templateRev, d.rev); err != nil {
			return nil, fmt.Errorf("config: nothing changed: %w", err)
		}
		d.configVersion = deploy.ConfigVersion(d.configs)
	}
	if err := schemaGuard(ctx, a, st, opts, d); err != nil {
		return nil, err
	}
	return d, nil
}

// schemaGuard applies the storage schema rules (the RESTBase process): the
// schema version is applied by the code at start and never goes down. A rev
// raising it needs --allow-schema-change, and then a rollback below it is
// refused; a rev below the deployed version is refused outright, with what
// to do instead.
func schemaGuard(ctx context.Context, a *app, st state.State, opts RolloutOptions, d *deployment) error {
	file := a.env.SchemaVersionFile
	if file == "" {
		return nil
	}
	var err error
	if d.schema, err = readSchema(ctx, a, d.rev, file); err != nil {
		return err
	}
	good := st.LastGood.Schema
	if st.LastGood.Rev != "" && good == 0 {
		if good, err = readSchema(ctx, a, st.LastGood.Rev, file); err != nil {
			return err
		}
	}
	deployed := max(st.Schema, good)
	switch {
	case d.schema < deployed:
		return fmt.Errorf("%w: %s (%s) has schema version %d in %s, below the deployed schema version %d, which the storage will not go back from. "+
			"To return to this code, commit a change raising %s to %d on top of %s and deploy that commit",
			ErrSchema, d.ref, shortRev(d.rev), d.schema, file, deployed, file, deployed, shortRev(d.rev))
	case d.schema > deployed && !opts.AllowSchemaChange:
		return fmt.Errorf("%w: %s (%s) raises the schema version in %s from %d to %d; deploy it with --allow-schema-change "+
			"(once a host starts it, returning to %s needs a commit raising its schema version to %d)",
			ErrSchema, d.ref, shortRev(d.rev), file, deployed, d.schema, orNone(shortRev(st.LastGood.Rev)), d.schema)
	}
	d.guard = schemaFloor(a, max(deployed, d.schema))
	return nil
}

// schemaFloor is the schema guard of a rollback: returning a host to rev
// is refused when rev's schema version is below floor, the version the
// storage has (or will have once a host starts the new code), because the
// storage never goes back. It reads schema_version_file at each rev
// involved, whatever last good recorded.
func schemaFloor(a *app, floor int) func(ctx context.Context, rev string) error {
	file := a.env.SchemaVersionFile
	if file == "" {
		return nil
	}
	return func(ctx context.Context, rev string) error {
		n, err := readSchema(ctx, a, rev, file)
		if err != nil {
			return fmt.Errorf("%w: reading %s at %s: %w", ErrSchema, file, shortRev(rev), err)
		}
		if n < floor {
			return fmt.Errorf("%w: returning to %s is refused: it has schema version %d in %s and the storage has %d, which it will not go back from; "+
				"to return, commit a change raising %s to %d on top of %s and roll that out",
				ErrSchema, shortRev(rev), n, file, floor, file, floor, shortRev(rev))
		}
		return nil
	}
}

func readSchema(ctx context.Context, a *app, rev, file string) (int, error) {
	b, err := a.src.ReadFile(ctx, rev, file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // no schema yet: version 0
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s at %s: want a schema version (a whole number), got %q", file, shortRev(rev), strings.TrimSpace(string(b)))
	}
	return n, nil
}
