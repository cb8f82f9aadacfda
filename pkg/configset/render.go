package configset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// MaxFileBytes bounds one rendered file, so that a runaway template fails
// here and every live file can be read back whole for a diff.
const MaxFileBytes = 1 << 20

// ErrTemplate is a template that cannot be rendered: missing, unparsable,
// or failing on the host's variables.
var ErrTemplate = errors.New("config template error")

// TemplateError is one template's failure, naming its file (as a path in
// the repository) and, where the error has one, its line.
type TemplateError struct {
	File string // e.g. config/app.conf.tmpl
	Line int    // 0 when the error is not on a line (a missing template)
	Msg  string // e.g. map has no entry for key "dcx" (at <.dcx>)
	Err  error  // the text/template error, when there is one
}

// Error returns "file:line: message", or "file: message" without a line.
func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap returns ErrTemplate and the text/template error.
func (e *TemplateError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrTemplate}
	}
	return []error{ErrTemplate, e.Err}
}

// Render renders every file spec lists for one host. templates holds the
// templates directory's files by their path relative to it (as
// gitsrc.Source.Files returns them); vars is the host's data. It renders
// every file and reports every failing one at once, each as a
// *TemplateError; an invalid spec is an error as well.
func Render(templates map[string][]byte, spec Spec, vars map[string]string) (*Set, error) {
	if ferrs := spec.Validate(); len(ferrs) > 0 {
		errs := make([]error, len(ferrs))
		for i, e := range ferrs {
			errs[i] = e
		}
		return nil, fmt.Errorf("config spec: %w", errors.Join(errs...))
	}
	spec = spec.WithDefaults()
	if vars == nil {
		vars = map[string]string{}
	}
	var errs []error
	files := make([]File, 0, len(spec.Files))
	for _, f := range spec.Files {
		file := path.Join(spec.Templates, f.Template)
		src, ok := templates[f.Template]
		if !ok {
			errs = append(errs, &TemplateError{File: file, Msg: fmt.Sprintf("no such template in %s/", spec.Templates)})
			continue
		}
		out, err := renderOne(file, src, vars)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		mode, _ := f.FileMode() // checked by Validate
		files = append(files, File{Name: f.Name(), Path: f.Path, Mode: mode, Content: out})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewSet(files)
}

// renderOne parses and executes one template, named file so that
// text/template's errors name it.
func renderOne(file string, src []byte, vars map[string]string) ([]byte, error) {
	t, err := template.New(file).Option("missingkey=error").Funcs(funcs(vars)).Parse(string(src))
	if err != nil {
		return nil, templateError(file, err)
	}
	w := &cappedBuffer{max: MaxFileBytes}
	if err := t.Execute(w, vars); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, &TemplateError{File: file, Msg: fmt.Sprintf("renders to more than %d bytes", MaxFileBytes)}
		}
		return nil, templateError(file, err)
	}
	return w.buf.Bytes(), nil
}

// funcs are the functions templates may call besides the builtins; see
// the package doc.
func funcs(vars map[string]string) template.FuncMap {
	return template.FuncMap{
		// index replaces the builtin, which returns "" for a missing key
		// whatever missingkey says.
		"index": func(m map[string]string, name string) (string, error) {
			v, ok := m[name]
			if !ok {
				return "", fmt.Errorf("map has no entry for key %q", name)
			}
			return v, nil
		},
		"optional": func(name string) string { return vars[name] },
		"quote":    quote,
	}
}

// quote returns s as a JSON string, which YAML reads as a double-quoted
// scalar too. HTML characters are left as they are.
func quote(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

var (
	// lineRE matches what follows "template: <file>:" in a text/template
	// error: the line, the column of an execution error, and the message.
	lineRE = regexp.MustCompile(`(?s)^(\d+)(?::\d+)?: (.*)$`)
	// execRE matches an execution error's message: the template and the
	// text of the action it failed in, then what went wrong.
	execRE = regexp.MustCompile(`(?s)^executing "(?:[^"\\]|\\.)*" at <(.*?)>: (.*)$`)
)

// templateError turns a text/template error into a *TemplateError with the
// line it names:
//
//	template: config/app.conf.tmpl:3: unexpected "}" in operand
//	template: config/app.conf.tmpl:3:4: executing "config/app.conf.tmpl" at <.dcx>: map has no entry for key "dcx"
func templateError(file string, err error) *TemplateError {
	te := &TemplateError{File: file, Err: err}
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "template: "+file+":")
	m := lineRE.FindStringSubmatch(rest)
	if !ok || m == nil {
		te.Msg = strings.TrimPrefix(strings.TrimPrefix(msg, "template: "), file+": ")
		return te
	}
	te.Line, _ = strconv.Atoi(m[1])
	te.Msg = m[2]
	if em := execRE.FindStringSubmatch(m[2]); em != nil {
		te.Msg = fmt.Sprintf("%s (at <%s>)", em[2], em[1])
	}
	return te
}

var errTooLarge = errors.New("rendered file too large")

// cappedBuffer refuses to grow beyond max bytes.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, errTooLarge
	}
	return w.buf.Write(p)
}
