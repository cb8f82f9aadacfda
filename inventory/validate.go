package inventory

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"

	"github.com/deployctl/deployctl/pkg/field"
	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validName(s string) bool { return nameRe.MatchString(s) }

// validate checks the merged configuration and returns every problem,
// located in the file and line that wrote the field.
func (e *Env) validate() []Problem {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	c := &e.Config

	switch {
	case c.App == "":
		add("app", "required: the application's name")
	case !validName(c.App):
		add("app", "%q: use letters, digits, '.', '_' and '-'", c.App)
	}
	if c.Source.Repo == "" {
		add("source.repo", "required: a local path or git URL of the code to deploy")
	}
	if c.DeployDir != "" && !path.IsAbs(c.DeployDir) {
		add("deploy_dir", "%q must be an absolute path on the targets", c.DeployDir)
	}
	if c.KeepReleases < 0 {
		add("keep_releases", "must not be negative")
	}
	errs = append(errs, field.Prefix("ssh", c.SSH.Validate())...)
	errs = append(errs, field.Prefix("pool", c.Pool.Validate())...)
	errs = append(errs, field.Prefix("state", c.State.WithDefaults(c.Pool).Validate())...)
	errs = append(errs, c.Notify.Validate()...) // its paths start with notify.
	errs = append(errs, field.Prefix("metrics", c.Metrics.Validate())...)
	errs = append(errs, validateService(&c.Service)...)
	names := map[string]int{}
	for i, chk := range c.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		errs = append(errs, field.Prefix(p, chk.Validate())...)
		if j, dup := names[chk.Name]; dup && chk.Name != "" {
			add(p+".name", "duplicate check name %q (also checks[%d])", chk.Name, j)
		}
		names[chk.Name] = i
	}
	errs = append(errs, validateRollout(&c.Rollout)...)
	errs = append(errs, field.Prefix("config", c.Files.Validate())...)
	errs = append(errs, e.validateHooks()...)
	if c.SchemaVersionFile != "" && (path.IsAbs(c.SchemaVersionFile) || strings.HasPrefix(path.Clean(c.SchemaVersionFile), "..")) {
		add("schema_version_file", "%q must be a path inside the repository", c.SchemaVersionFile)
	}
	errs = append(errs, e.validateHosts()...)
	if len(errs) == 0 {
		errs = append(errs, e.validateTemplates()...)
	}

	probs := make([]Problem, 0, len(errs))
	for _, fe := range errs {
		file, line := e.tree.locate(fe.Path)
		if file == "" || envOnly(fe.Path) && e.tree.root != nil && mappingIndex(e.tree.root, rootKey(fe.Path)) < 0 {
			file, line = e.File, 1 // a section only an environment file has, not written at all
		}
		probs = append(probs, Problem{File: file, Line: line, Path: fe.Path, Msg: fe.Msg})
	}
	return probs
}

func validateService(s *Service) []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf("service."+path, format, args...))
	}
	switch {
	case s.SystemdUnit != "" && (len(s.Start) > 0 || len(s.Stop) > 0):
		add("systemd_unit", "set either systemd_unit or start/stop argv, not both")
	case s.SystemdUnit == "" && len(s.Start) == 0:
		add("start", "required: the argv that starts the service (or set systemd_unit)")
	case s.SystemdUnit == "" && len(s.Stop) == 0:
		add("stop", "required: the argv that stops the service (or set systemd_unit)")
	}
	for _, a := range []struct {
		name string
		argv []string
	}{{"start", s.Start}, {"stop", s.Stop}, {"restart", s.Restart}, {"reload", s.Reload}} {
		if len(a.argv) > 0 && strings.TrimSpace(a.argv[0]) == "" {
			add(a.name+"[0]", "the command name is empty")
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		add("port", "required: the TCP port the service binds (1-65535)")
	}
	for _, d := range []struct {
		name string
		v    int64
	}{{"stop_timeout", int64(s.StopTimeout)}, {"start_timeout", int64(s.StartTimeout)}, {"port_timeout", int64(s.PortTimeout)}} {
		if d.v < 0 {
			add(d.name, "must not be negative")
		}
	}
	return errs
}

func (e *Env) validateHooks() []*field.Error {
	var errs []*field.Error
	for _, set := range []struct {
		name    string
		hooks   []Hook
		perHost bool
	}{
		{"before_rollout", e.Hooks.BeforeRollout, false}, {"before_host", e.Hooks.BeforeHost, true},
		{"after_host", e.Hooks.AfterHost, true}, {"after_rollout", e.Hooks.AfterRollout, false}, {"on_failure", e.Hooks.OnFailure, false},
	} {
		for i, h := range set.hooks {
			p := fmt.Sprintf("hooks.%s[%d]", set.name, i)
			if len(h.Argv) == 0 || strings.TrimSpace(h.Argv[0]) == "" {
				errs = append(errs, field.Errorf(p+".argv", "required: the command to run, as an argv list"))
			}
			if h.Timeout < 0 {
				errs = append(errs, field.Errorf(p+".timeout", "must not be negative"))
			}
			switch {
			case h.Host == "":
			case h.Host == HookOnEach && !set.perHost:
				errs = append(errs, field.Errorf(p+".host", "%q only applies to before_host and after_host", HookOnEach))
			case h.Host != HookOnEach:
				if _, ok := e.Host(h.Host); !ok {
					errs = append(errs, field.Errorf(p+".host", "unknown host %q", h.Host))
				}
			}
		}
	}
	return errs
}

func validateRollout(r *Rollout) []*field.Error {
	var errs []*field.Error
	if r.FailureLimit < 0 {
		errs = append(errs, field.Errorf("rollout.failure_limit", "must not be negative"))
	}
	for _, d := range []struct {
		name string
		v    int64
	}{{"canary_wait", int64(r.CanaryWait)}, {"min_healthy_time", int64(r.MinHealthyTime)}, {"healthy_deadline", int64(r.HealthyDeadline)}, {"progress_deadline", int64(r.ProgressDeadline)}} {
		if d.v < 0 {
			errs = append(errs, field.Errorf("rollout."+d.name, "must not be negative"))
		}
	}
	return errs
}

func (e *Env) validateHosts() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) { errs = append(errs, field.Errorf(path, format, args...)) }
	c := &e.Config
	if len(c.Hosts) == 0 {
		add("hosts", "environment %q has no hosts", e.Name)
	}
	hostIdx := map[string]int{}
	addrIdx := map[string]string{}
	for i, h := range c.Hosts {
		p := fmt.Sprintf("hosts[%d]", i)
		switch {
		case h.Name == "":
			add(p+".name", "required")
		case !validName(h.Name):
			add(p+".name", "%q: use letters, digits, '.', '_' and '-'", h.Name)
		}
		if j, dup := hostIdx[h.Name]; dup && h.Name != "" {
			add(p+".name", "duplicate host %q (also hosts[%d])", h.Name, j)
		} else {
			hostIdx[h.Name] = i
		}
		switch {
		case h.Address == "":
			add(p+".address", "required: an IP address or DNS name")
		case net.ParseIP(h.Address) == nil && !hostnameRe.MatchString(h.Address):
			add(p+".address", "%q is neither an IP address nor a host name", h.Address)
		}
		key := fmt.Sprintf("%s:%d", h.Address, h.SSHPort)
		if other, dup := addrIdx[key]; dup && h.Address != "" {
			add(p+".address", "host %q has the same address and port as %q", h.Name, other)
		}
		addrIdx[key] = h.Name
		if h.SSHPort < 0 || h.SSHPort > 65535 {
			add(p+".ssh_port", "%d is not a TCP port", h.SSHPort)
		}
		for k := range h.Vars {
			if reservedVars[k] {
				add(p+".vars."+k, "%q is set by deployctl and cannot be a var", k)
			}
		}
	}
	for k := range c.Vars {
		if reservedVars[k] {
			add("vars."+k, "%q is set by deployctl and cannot be a var", k)
		}
	}

	inGroup := map[string]string{}
	groupIdx := map[string]bool{}
	for _, g := range c.Groups {
		p := "groups." + g.Name
		groupIdx[g.Name] = true
		if !validName(g.Name) {
			add(p, "group name %q: use letters, digits, '.', '_' and '-'", g.Name)
		}
		if len(g.Hosts) == 0 {
			add(p, "group %q has no hosts", g.Name)
		}
		for i, h := range g.Hosts {
			hp := fmt.Sprintf("%s[%d]", p, i)
			if _, ok := hostIdx[h]; !ok {
				add(hp, "unknown host %q", h)
				continue
			}
			if other, dup := inGroup[h]; dup {
				add(hp, "host %q is already in group %q", h, other)
				continue
			}
			inGroup[h] = g.Name
		}
		for k := range g.Vars {
			if reservedVars[k] {
				add(p+".vars."+k, "%q is set by deployctl and cannot be a var", k)
			}
		}
	}
	if len(c.Groups) == 0 && len(c.Hosts) > 0 {
		add("groups", "environment %q has no groups: list its hosts under groups (e.g. canary: [...], main: [...])", e.Name)
	} else {
		for i, h := range c.Hosts {
			if _, ok := inGroup[h.Name]; !ok && h.Name != "" {
				add(fmt.Sprintf("hosts[%d]", i), "host %q is in no group", h.Name)
			}
		}
	}
	listed := map[string]bool{}
	for i, g := range c.Rollout.Groups {
		p := fmt.Sprintf("rollout.groups[%d]", i)
		if !groupIdx[g] {
			add(p, "unknown group %q", g)
		}
		if listed[g] {
			add(p, "group %q listed twice", g)
		}
		listed[g] = true
	}
	if len(c.Rollout.Groups) > 0 {
		for _, g := range c.Groups {
			if !listed[g.Name] {
				add("groups."+g.Name, "group %q is not in rollout.groups, so it would never be deployed", g.Name)
			}
		}
	}
	return errs
}

var hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// validateTemplates fills every per-host template for every host, so that a
// placeholder no host can fill is reported before anything runs.
func (e *Env) validateTemplates() []*field.Error {
	var errs []*field.Error
	seen := map[string]bool{}
	for _, h := range e.Hosts {
		vars := e.HostVars(h.Name, "0000000000000000000000000000000000000000")
		check := func(path, s string) {
			if _, err := hosttmpl.Expand(s, vars); err != nil && !seen[path] {
				seen[path] = true
				errs = append(errs, field.Errorf(path, "host %s: %v", h.Name, err))
			}
		}
		for _, a := range []struct {
			name string
			argv []string
		}{{"start", e.Service.Start}, {"stop", e.Service.Stop}, {"restart", e.Service.Restart}, {"reload", e.Service.Reload}} {
			for i, s := range a.argv {
				check(fmt.Sprintf("service.%s[%d]", a.name, i), s)
			}
		}
		for path, s := range e.Pool.Templates() {
			check(field.Join("pool", path), s)
		}
		// Relative metrics fill {others} with the host's peers.
		checkVars := vars.With("others", "")
		for i, chk := range e.Checks {
			for path, s := range chk.Templates() {
				p := field.Join(fmt.Sprintf("checks[%d]", i), path)
				if _, err := hosttmpl.Expand(s, checkVars); err != nil && !seen[p] {
					seen[p] = true
					errs = append(errs, field.Errorf(p, "host %s: %v", h.Name, err))
				}
			}
		}
	}
	return errs
}

func rootKey(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// envOnly reports whether a field belongs in an environment file.
func envOnly(path string) bool {
	switch rootKey(path) {
	case "hosts", "groups":
		return true
	}
	return false
}
