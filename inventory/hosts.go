package inventory

import (
	"fmt"
	"path"
	"strconv"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// reservedVars are the placeholders deployctl fills itself; inventory vars
// cannot override them.
var reservedVars = map[string]bool{
	"host": true, "address": true, "port": true, "app": true, "env": true, "group": true,
	"deploy_dir": true, "release_dir": true, "current_dir": true, "rev": true,
}

// Host returns the named host.
func (e *Env) Host(name string) (Host, bool) {
	for _, h := range e.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// GroupOf returns the group a host belongs to.
func (e *Env) GroupOf(host string) (Group, bool) {
	for _, g := range e.Groups {
		for _, h := range g.Hosts {
			if h == host {
				return g, true
			}
		}
	}
	return Group{}, false
}

// OrderedGroups returns the groups in rollout order: rollout.groups when
// set, otherwise the order of the environment file.
func (e *Env) OrderedGroups() []Group {
	if len(e.Rollout.Groups) == 0 {
		return e.Groups
	}
	out := make([]Group, 0, len(e.Groups))
	for _, name := range e.Rollout.Groups {
		for _, g := range e.Groups {
			if g.Name == name {
				out = append(out, g)
			}
		}
	}
	return out
}

// AppDir is <deploy_dir>/<app> on the targets.
func (e *Env) AppDir() string { return path.Join(e.DeployDir, e.App) }

// ReleaseDir is where a rev's release lives on the targets.
func (e *Env) ReleaseDir(rev string) string { return path.Join(e.AppDir(), "revs", rev) }

// CurrentDir is the symlink to the live release on the targets.
func (e *Env) CurrentDir() string { return path.Join(e.AppDir(), "current") }

// HostVars returns the placeholder values for one host: environment vars,
// then its group's, then its own, then deployctl's own names. rev may be
// empty when no rev is known yet.
func (e *Env) HostVars(host, rev string) hosttmpl.Vars {
	v := hosttmpl.Vars{}
	for k, x := range e.Vars {
		v[k] = x
	}
	g, _ := e.GroupOf(host)
	for k, x := range g.Vars {
		v[k] = x
	}
	h, _ := e.Host(host)
	for k, x := range h.Vars {
		v[k] = x
	}
	v["host"] = h.Name
	v["address"] = h.Address
	v["port"] = strconv.Itoa(e.Service.Port)
	v["app"] = e.App
	v["env"] = e.Name
	v["group"] = g.Name
	v["deploy_dir"] = e.DeployDir
	v["current_dir"] = e.CurrentDir()
	v["rev"] = rev
	v["release_dir"] = e.CurrentDir()
	if rev != "" {
		v["release_dir"] = e.ReleaseDir(rev)
	}
	return v
}

// ServiceArgv returns the filled argv of a service action (start, stop,
// restart, reload) for a host. A systemd unit gives systemctl argv.
// ok is false when the action is not configured (restart and reload are
// optional).
func (e *Env) ServiceArgv(action, host, rev string) (argv []string, ok bool, err error) {
	var tmpl []string
	s := e.Service
	if s.SystemdUnit != "" {
		tmpl = []string{"systemctl", action, s.SystemdUnit}
	} else {
		switch action {
		case "start":
			tmpl = s.Start
		case "stop":
			tmpl = s.Stop
		case "restart":
			tmpl = s.Restart
		case "reload":
			tmpl = s.Reload
		default:
			return nil, false, fmt.Errorf("unknown service action %q", action)
		}
	}
	if len(tmpl) == 0 {
		return nil, false, nil
	}
	argv, err = hosttmpl.ExpandAll(tmpl, e.HostVars(host, rev))
	if err != nil {
		return nil, false, fmt.Errorf("service.%s for %s: %w", action, host, err)
	}
	return argv, true, nil
}

// Batch is the hosts of one group that change at the same time.
type Batch struct {
	Group string
	Index int // 1-based within the group
	Hosts []string
}

// Batches returns every batch of the rollout in order: groups in rollout
// order, each split by batch_size.
func (e *Env) Batches() []Batch {
	var out []Batch
	for _, g := range e.OrderedGroups() {
		for i, hosts := range e.Rollout.BatchSize.Batches(g.Hosts) {
			out = append(out, Batch{Group: g.Name, Index: i + 1, Hosts: hosts})
		}
	}
	return out
}
