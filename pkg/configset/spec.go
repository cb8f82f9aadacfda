package configset

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/field"
)

// Defaults for Spec; a zero value in Spec means the default.
const (
	DefaultTemplates = "config"
	DefaultMode      = fs.FileMode(0o644)
)

// TemplateSuffix is cut from a template's name to name the rendered file:
// app.conf.tmpl renders to app.conf.
const TemplateSuffix = ".tmpl"

// Spec is the config section of deployctl's configuration (the "config:"
// key): which templates to render and where each rendered file is linked
// on the host.
type Spec struct {
	Templates string     `yaml:"templates"` // directory of templates in the source repo at the rev (default "config")
	Files     []FileSpec `yaml:"files"`
	Reload    bool       `yaml:"reload"` // a config-only deploy reloads the service instead of restarting it
}

// FileSpec is one file to render.
type FileSpec struct {
	Template string `yaml:"template"` // relative to the templates directory; required
	Path     string `yaml:"path"`     // absolute host path where the link to the rendered file goes; required, unique
	Mode     string `yaml:"mode"`     // octal mode of the rendered file, e.g. "0640" (default 0644)
}

// Enabled reports whether s asks for any file to be rendered. A zero Spec
// (no config: section) is valid and renders nothing.
func (s Spec) Enabled() bool { return len(s.Files) > 0 }

// WithDefaults returns s with every zero value replaced by its default.
func (s Spec) WithDefaults() Spec {
	if s.Templates == "" {
		s.Templates = DefaultTemplates
	}
	files := make([]FileSpec, len(s.Files))
	for i, f := range s.Files {
		if f.Mode == "" {
			f.Mode = fmt.Sprintf("%04o", uint32(DefaultMode))
		}
		files[i] = f
	}
	s.Files = files
	return s
}

// Name is the rendered file's name inside a config version directory: the
// template's path with TemplateSuffix cut.
func (f FileSpec) Name() string { return strings.TrimSuffix(path.Clean(f.Template), TemplateSuffix) }

// FileMode parses Mode ("" is DefaultMode). Octal digits, with or without
// a leading 0, up to 0777: no setuid, setgid or sticky bits.
func (f FileSpec) FileMode() (fs.FileMode, error) {
	if f.Mode == "" {
		return DefaultMode, nil
	}
	m, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("mode %q: want octal permission bits such as \"0644\" (at most 0777)", f.Mode)
	}
	return fs.FileMode(m), nil
}

// Validate reports every problem in s at once, with paths relative to the
// config section.
func (s Spec) Validate() []*field.Error {
	var errs []*field.Error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if s.Templates != "" {
		if err := checkRelative(s.Templates); err != nil {
			add("templates", "%v", err)
		}
	}
	if len(s.Files) == 0 && (s.Templates != "" || s.Reload) {
		add("files", "at least one file is required")
	}
	names := map[string]int{}
	paths := map[string]int{}
	for i, f := range s.Files {
		at := func(key string) string { return fmt.Sprintf("files[%d].%s", i, key) }
		switch err := checkRelative(f.Template); {
		case f.Template == "":
			add(at("template"), "required")
		case err != nil:
			add(at("template"), "%v", err)
		default:
			if err := checkName(f.Name()); err != nil {
				add(at("template"), "renders to %v", err)
			} else if j, dup := names[f.Name()]; dup {
				add(at("template"), "renders to %q, as files[%d] does", f.Name(), j)
			} else {
				names[f.Name()] = i
			}
		}
		switch err := checkPath(f.Path); {
		case f.Path == "":
			add(at("path"), "required")
		case err != nil:
			add(at("path"), "%v", err)
		default:
			if j, dup := paths[f.Path]; dup {
				add(at("path"), "%q is also files[%d].path", f.Path, j)
			} else {
				paths[f.Path] = i
			}
		}
		if _, err := f.FileMode(); err != nil {
			add(at("mode"), "%v", err)
		}
	}
	for i, f := range s.Files {
		if names[f.Name()] != i || checkRelative(f.Template) != nil {
			continue
		}
		for d := path.Dir(f.Name()); d != "."; d = path.Dir(d) {
			if j, clash := names[d]; clash {
				add(fmt.Sprintf("files[%d].template", i), "renders to %q, inside %q which files[%d] renders to", f.Name(), d, j)
			}
		}
	}
	return errs
}
