package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// DefaultConfigFile is the base file read when --config is not given.
const DefaultConfigFile = "deployctl.yaml"

// Project is the base configuration file and the environments it names.
type Project struct {
	Path string // the base file, as named by the user
	Dir  string // its directory: relative paths in the configuration start here
	base *tree
	envs map[string]string // environment name -> file (as the user would open it)
}

// Env is one environment's configuration: the base with the environment's
// file laid over it, defaults filled, validated.
type Env struct {
	Name    string
	File    string
	Project *Project
	Config
	tree *tree
}

// Open reads and strictly decodes the base file. Problems are returned as
// Errors naming file and line.
func Open(path string) (*Project, error) {
	if path == "" {
		path = DefaultConfigFile
	}
	p := &Project{Path: path, Dir: filepath.Dir(path), envs: map[string]string{}}
	t, cfg, probs := readFile(path)
	if len(probs) > 0 {
		return nil, sortProblems(probs)
	}
	p.base = t
	if len(cfg.Hosts) > 0 || len(cfg.Groups) > 0 {
		file, line := t.locate("hosts")
		if len(cfg.Hosts) == 0 {
			file, line = t.locate("groups")
		}
		probs = append(probs, Problem{File: file, Line: line, Path: "hosts", Msg: "hosts and groups belong in an environment file, not the base file"})
	}
	for name, ref := range cfg.Environments {
		file := ref.File
		if file == "" {
			file = fmt.Sprintf(DefaultEnvFile, name)
		}
		if !validName(name) {
			f, line := t.locate("environments." + name)
			probs = append(probs, Problem{File: f, Line: line, Path: "environments." + name, Msg: "environment names are letters, digits, '.', '_' and '-'"})
		}
		p.envs[name] = filepath.Join(p.Dir, file)
	}
	if len(cfg.Environments) == 0 {
		// Nothing declared: every environments/<name>/inventory.yaml counts.
		matches, _ := filepath.Glob(filepath.Join(p.Dir, fmt.Sprintf(DefaultEnvFile, "*")))
		for _, m := range matches {
			p.envs[filepath.Base(filepath.Dir(m))] = m
		}
	}
	if len(p.envs) == 0 {
		probs = append(probs, Problem{File: path, Path: "environments", Msg: fmt.Sprintf("no environments: declare them under environments: or create %s", fmt.Sprintf(DefaultEnvFile, "<name>"))})
	}
	if len(probs) > 0 {
		return nil, sortProblems(probs)
	}
	return p, nil
}

// Envs returns the environment names, sorted.
func (p *Project) Envs() []string {
	names := make([]string, 0, len(p.envs))
	for n := range p.envs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnvFile returns the file of an environment.
func (p *Project) EnvFile(name string) string { return p.envs[name] }

// DefaultEnv returns the only environment, or an error asking for --env when
// there are several.
func (p *Project) DefaultEnv() (string, error) {
	names := p.Envs()
	if len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("%s has %d environments (%v): choose one with --env", p.Path, len(names), names)
}

// Env loads, merges, defaults and validates one environment.
func (p *Project) Env(name string) (*Env, error) {
	file, ok := p.envs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: unknown environment %q (have %v)", ErrInvalid, p.Path, name, p.Envs())
	}
	t, cfg, probs := readFile(file)
	if len(probs) > 0 {
		return nil, sortProblems(probs)
	}
	if len(cfg.Environments) > 0 {
		f, line := t.locate("environments")
		return nil, Errors{{File: f, Line: line, Path: "environments", Msg: "environments are declared in the base file only"}}
	}
	merged := overlay(p.base, t)
	env := &Env{Name: name, File: file, Project: p, tree: merged}
	if merged.root != nil {
		if err := merged.root.Decode(&env.Config); err != nil {
			return nil, sortProblems(yamlProblems(file, err, merged.pathAt))
		}
	}
	probs = env.validate()
	if len(probs) > 0 {
		return nil, sortProblems(probs)
	}
	env.applyDefaults()
	return env, nil
}

// ValidateAll loads every environment and returns every problem at once.
func (p *Project) ValidateAll() error {
	var all Errors
	seen := map[string]bool{}
	for _, name := range p.Envs() {
		_, err := p.Env(name)
		var errs Errors
		switch {
		case err == nil:
		case errors.As(err, &errs):
			for _, pr := range errs {
				if !seen[pr.String()] { // base-file problems repeat per environment
					seen[pr.String()] = true
					all = append(all, pr)
				}
			}
		default:
			return err
		}
	}
	if len(all) > 0 {
		return sortProblems(all)
	}
	return nil
}

// Resolve makes a path from the configuration absolute, relative to the
// base file's directory.
func (p *Project) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	abs, err := filepath.Abs(filepath.Join(p.Dir, path))
	if err != nil {
		return filepath.Join(p.Dir, path)
	}
	return abs
}

// readFile parses one file and decodes it strictly into a Config, to catch
// unknown keys and type errors with this file's name on them.
func readFile(path string) (*tree, *Config, []Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, []Problem{{File: path, Msg: readErr(err)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, yamlProblems(path, err, nil)
	}
	t := newTree(path, &doc)
	if t.root != nil && t.root.Kind != yaml.MappingNode {
		return nil, nil, []Problem{{File: path, Line: t.root.Line, Msg: "want a mapping of keys at the top level"}}
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, yamlProblems(path, err, t.pathAt)
	}
	return t, &cfg, nil
}

func readErr(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "no such file (create it, or name another with --config)"
	}
	return err.Error()
}

func sortProblems(p []Problem) Errors {
	sort.SliceStable(p, func(i, j int) bool {
		if p[i].File != p[j].File {
			return p[i].File < p[j].File
		}
		return p[i].Line < p[j].Line
	})
	return Errors(p)
}
