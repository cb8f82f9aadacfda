package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/state"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

// GlobalOptions are the flags every command takes.
type GlobalOptions struct {
	Config   string // base configuration file
	Env      string // environment name
	Output   string // text or json
	Verbose  int
	StateDir string

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

func (g *GlobalOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVarP(&g.Config, "config", "c", inventory.DefaultConfigFile, "base configuration `file`")
	f.StringVarP(&g.Env, "env", "e", "", "environment `name` (default: the only one)")
	f.StringVarP(&g.Output, "output", "o", outputText, "output format: text or json")
	f.CountVarP(&g.Verbose, "verbose", "v", "more detail (repeat for debug)")
	f.StringVar(&g.StateDir, "state-dir", "", "deploy-host state `dir` (default "+DefaultStateDir+", shared by the deploy group)")
}

// validate checks the global flags before any command runs.
func (g *GlobalOptions) validate() error {
	if g.Output != outputText && g.Output != outputJSON {
		return usageErrorf("--output %q: want text or json", g.Output)
	}
	level := slog.LevelWarn
	switch {
	case g.Verbose == 1:
		level = slog.LevelInfo
	case g.Verbose > 1:
		level = slog.LevelDebug
	}
	g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	return nil
}

// loadEnv opens the configuration and loads the chosen environment.
func (g *GlobalOptions) loadEnv() (*inventory.Env, error) {
	p, err := inventory.Open(g.Config)
	if err != nil {
		return nil, err
	}
	name := g.Env
	if name == "" {
		if name, err = p.DefaultEnv(); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return p.Env(name)
}

// stateDir is where deployctl keeps its lock, state, history and caches.
// DefaultStateDir is the per-machine state dir: every operator of a
// deploy host shares its lock (it must be group-writable by the deploy
// group). A per-user dir is used only when asked: --state-dir or the
// config's state_dir.
const DefaultStateDir = "/var/lib/deployctl"

// stateDir is where env's state lives, and whether it is the shared
// per-machine default.
func (g *GlobalOptions) stateDir(env *inventory.Env) (dir string, shared bool, err error) {
	switch {
	case g.StateDir != "":
		dir, err = filepath.Abs(g.StateDir)
		return dir, false, err
	case env != nil && env.StateDir != "":
		return env.Project.Resolve(env.StateDir), false, nil
	}
	return DefaultStateDir, true, nil
}

// openStore opens env's state store: the local files (the shared default
// refuses permissions that would give each operator a lock of their own),
// or etcd, shared by every deploy host, with run logs kept in the local
// state dir. close releases it.
func (g *GlobalOptions) openStore(ctx context.Context, env *inventory.Env) (store deploy.StateStore, close func() error, err error) {
	dir, shared, err := g.stateDir(env)
	if err != nil {
		return nil, nil, err
	}
	if env.State.Backend == inventory.StateEtcd {
		c := env.State.Etcd
		s, err := etcdstate.Open(ctx, etcdstate.Config{
			Endpoints: c.Endpoints, Prefix: c.Prefix, Username: c.Username, PasswordFile: env.Project.Resolve(c.PasswordFile),
			TLS:         etcdstate.TLS{CAFile: env.Project.Resolve(c.TLS.CAFile), CertFile: env.Project.Resolve(c.TLS.CertFile), KeyFile: env.Project.Resolve(c.TLS.KeyFile)},
			DialTimeout: c.DialTimeout, RequestTimeout: c.RequestTimeout, LeaseTTL: c.LeaseTTL, LogDir: dir,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("state: %w", err)
		}
		return s, s.Close, nil
	}
	open := state.Open
	if shared {
		open = state.OpenShared
	}
	s, err := open(dir)
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return nil }, nil
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}
