package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/state"
)

// app is one environment with its parts opened: what most commands need.
type app struct {
	g          *GlobalOptions
	env        *inventory.Env
	store      deploy.StateStore
	closeStore func() error
	src        *gitsrc.Source // nil unless asked for
	ssh        *sshx.Pool
	pool       *deploy.PoolHosts
	checks     *deploy.CheckSet
	notify     *notify.Notifier // nil when nobody is to be told
}

// openApp loads the environment and opens the state store; withSource opens
// the code source too.
func openApp(ctx context.Context, g *GlobalOptions, withSource bool) (*app, error) {
	env, err := g.loadEnv()
	if err != nil {
		return nil, err
	}
	// The store lives as long as the command: its lock is released by the
	// run, and an etcd client's connections end with the process.
	store, _, err := g.openStore(ctx, env)
	if err != nil {
		return nil, err
	}
	a := &app{g: g, env: env, store: store}
	if len(env.Notify.Webhooks)+len(env.Notify.Commands) > 0 {
		if a.notify, err = notify.New(env.Notify, notify.Options{Resolve: env.Project.Resolve, Logger: g.log}); err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
	}
	if withSource {
		if a.src, err = openSource(ctx, g, env); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// connect opens the SSH pool, the pool backend and the checks.
func (a *app) connect() error {
	cfg := a.env.SSH
	var err error
	if a.ssh, err = sshx.NewPool(cfg); err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	if a.pool, err = deploy.NewPoolHosts(a.env); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	if a.checks, err = deploy.NewCheckSet(a.env, a.g.log); err != nil {
		return fmt.Errorf("checks: %w", err)
	}
	return nil
}

func (a *app) Close() error {
	var errs []error
	if a.ssh != nil {
		errs = append(errs, a.ssh.Close())
	}
	if a.pool != nil {
		errs = append(errs, a.pool.Close())
	}
	return errors.Join(errs...)
}

// deployer returns the environment's lifecycle, wired to the real parts
// (connected once a request is confirmed), telling the operator through
// printer.
func (a *app) deployer(printer *eventPrinter) *deploy.Deployer {
	d := &deploy.Deployer{
		Env: a.env, Store: a.store, Source: a.src, Metrics: a.env.Metrics,
		UI: cmdUI{printer: printer, prompt: newPrompter(a.g), stderr: a.g.stderr},
		Connect: func(sink deploy.Sink) (*deploy.Engine, func() error, error) {
			if err := a.connect(); err != nil {
				return nil, nil, err
			}
			return a.engine(sink), a.Close, nil
		},
	}
	if a.notify != nil {
		d.Notify = a.notify
	}
	return d
}

// cmdUI is the operator's side of a run: questions and notes on stderr,
// events through the printer.
type cmdUI struct {
	printer *eventPrinter
	prompt  prompter
	stderr  io.Writer
}

func (u cmdUI) Confirm(question string) error { return u.prompt.confirm(false, question) }
func (u cmdUI) Note(msg string)               { fmt.Fprintln(u.stderr, msg) }
func (u cmdUI) Event(ev deploy.Event)         { u.printer.Event(ev) }

// engine returns the orchestrator wired to the real parts.
func (a *app) engine(sink deploy.Sink) *deploy.Engine {
	e := &deploy.Engine{
		Env:      a.env,
		Hosts:    &deploy.SSHHosts{Env: a.env, Pool: a.ssh},
		Pool:     a.pool,
		Releases: deploy.NewReleases(a.env, a.src),
		Checks:   a.checks,
		Configs:  deploy.NewConfigs(a.env),
		Events:   sink,
		Log:      a.g.log,
	}
	return e
}

func (a *app) owner(command, message string) state.Owner {
	return state.Owner{Command: command, Message: message}
}
