package configset

import (
	"errors"
	"strings"
	"testing"
)

func oneFile(tmpl string) Spec {
	return Spec{Files: []FileSpec{{Template: tmpl, Path: "/srv/etc/app/app.conf"}}}
}

func TestRenderData(t *testing.T) {
	spec := Spec{Files: []FileSpec{
		{Template: "app.conf.tmpl", Path: "/srv/etc/app/app.conf", Mode: "0600"},
		{Template: "sub/log.json.tmpl", Path: "/srv/etc/app/log.json"},
	}}
	templates := map[string][]byte{
		"app.conf.tmpl":     []byte("dc={{ .dc }}\nrole={{ index . \"node-role\" }}\nlevel={{ or (optional \"level\") \"info\" }}\n"),
		"sub/log.json.tmpl": []byte(`{"host": {{ quote .host }}, "motd": {{ quote .motd }}}` + "\n"),
		"unused.tmpl":       []byte("{{ .nope }}"),
	}
	vars := map[string]string{"dc": "eqiad", "node-role": "canary", "host": "h1", "motd": "say \"hi\" <&>\n"}
	set, err := Render(templates, spec, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Name: "app.conf", Path: "/srv/etc/app/app.conf", Mode: 0o600, Content: []byte("dc=eqiad\nrole=canary\nlevel=info\n")},
		{Name: "sub/log.json", Path: "/srv/etc/app/log.json", Mode: DefaultMode, Content: []byte(`{"host": "h1", "motd": "say \"hi\" <&>\n"}` + "\n")},
	}
	if len(set.Files) != len(want) {
		t.Fatalf("%d files, want %d", len(set.Files), len(want))
	}
	for i, w := range want {
		g := set.Files[i]
		if g.Name != w.Name || g.Path != w.Path || g.Mode != w.Mode || string(g.Content) != string(w.Content) {
			t.Errorf("files[%d] = %s %s %v %q, want %s %s %v %q", i, g.Name, g.Path, g.Mode, g.Content, w.Name, w.Path, w.Mode, w.Content)
		}
	}
	if ValidVersion(set.Version) != nil {
		t.Errorf("version %q", set.Version)
	}
	if got := set.Paths(); strings.Join(got, " ") != "/srv/etc/app/app.conf /srv/etc/app/log.json" {
		t.Errorf("Paths() = %v", got)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name     string
		src      string // app.conf.tmpl; absent when "-"
		wantLine int
		want     string // the whole Error()
	}{
		{
			name: "missing variable", src: "a={{ .dc }}\n\nb={{ .dcx }}\n", wantLine: 3,
			want: `config/app.conf.tmpl:3: map has no entry for key "dcx" (at <.dcx>)`,
		},
		{
			name: "missing variable through index", src: "a\n{{ index . \"some-var\" }}\n", wantLine: 2,
			want: `config/app.conf.tmpl:2: error calling index: map has no entry for key "some-var" (at <index . "some-var">)`,
		},
		{
			name: "syntax error", src: "a\nb\n{{ .dc }\n", wantLine: 3,
			want: `config/app.conf.tmpl:3: unexpected "}" in operand`,
		},
		{
			name: "unknown function", src: "{{ upper .dc }}", wantLine: 1,
			want: `config/app.conf.tmpl:1: function "upper" not defined`,
		},
		{
			name: "unclosed action at the end", src: "a\n{{ if .dc }}x\n", wantLine: 3,
			want: `config/app.conf.tmpl:3: unexpected EOF`,
		},
		{
			name: "template missing from the repository", src: "-",
			want: `config/app.conf.tmpl: no such template in config/`,
		},
		{
			name: "runaway output", src: `{{ define "x" }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ template "x" }}{{ end }}{{ template "x" }}`,
			want: `config/app.conf.tmpl: renders to more than 1048576 bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			templates := map[string][]byte{"other.tmpl": []byte("x")}
			if tt.src != "-" {
				templates["app.conf.tmpl"] = []byte(tt.src)
			}
			set, err := Render(templates, oneFile("app.conf.tmpl"), map[string]string{"dc": "eqiad"})
			if err == nil {
				t.Fatalf("rendered %q", set.Files[0].Content)
			}
			if !errors.Is(err, ErrTemplate) {
				t.Errorf("%v does not wrap ErrTemplate", err)
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("%v is not a *TemplateError", err)
			}
			if te.File != "config/app.conf.tmpl" || te.Line != tt.wantLine {
				t.Errorf("file %q line %d, want config/app.conf.tmpl line %d", te.File, te.Line, tt.wantLine)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestRenderReportsEveryFile(t *testing.T) {
	spec := Spec{Templates: "tpl", Files: []FileSpec{
		{Template: "a.tmpl", Path: "/etc/a"},
		{Template: "b.tmpl", Path: "/etc/b"},
		{Template: "c.tmpl", Path: "/etc/c"},
	}}
	templates := map[string][]byte{"a.tmpl": []byte("{{ .x }}"), "b.tmpl": []byte("fine"), "c.tmpl": []byte("\n{{ .y }}")}
	_, err := Render(templates, spec, nil)
	want := "tpl/a.tmpl:1: map has no entry for key \"x\" (at <.x>)\ntpl/c.tmpl:2: map has no entry for key \"y\" (at <.y>)"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestRenderInvalidSpec(t *testing.T) {
	_, err := Render(nil, Spec{Files: []FileSpec{{Template: "a"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "files[0].path: required") {
		t.Fatalf("error %v, want the spec's problem", err)
	}
}

func TestVersion(t *testing.T) {
	spec := Spec{Files: []FileSpec{
		{Template: "a.tmpl", Path: "/etc/a"},
		{Template: "b.tmpl", Path: "/etc/b", Mode: "0600"},
	}}
	templates := map[string][]byte{"a.tmpl": []byte("a={{ .a }}\n"), "b.tmpl": []byte("b\n")}
	vars := map[string]string{"a": "1"}
	render := func(spec Spec, templates map[string][]byte, vars map[string]string) string {
		t.Helper()
		set, err := Render(templates, spec, vars)
		if err != nil {
			t.Fatal(err)
		}
		return set.Version
	}
	base := render(spec, templates, vars)
	// Pinned: the version must be the same on every machine and in every
	// release of deployctl, or every host would get a new version. It is
	// also what sha256sum gives for the manifest the package doc describes:
	// printf 'deployctl-config 1\n0644\t<sha256 of "a=1\n">\ta\t/etc/a\n0600\t<sha256 of "b\n">\tb\t/etc/b\n'.
	if base != "92f9d863b0f97c94" {
		t.Errorf("version %s, pinned 92f9d863b0f97c94", base)
	}
	if again := render(spec, templates, map[string]string{"a": "1", "unused": "x"}); again != base {
		t.Errorf("same output, version %s then %s", base, again)
	}
	reordered := Spec{Files: []FileSpec{spec.Files[1], spec.Files[0]}}
	if got := render(reordered, templates, vars); got != base {
		t.Errorf("files listed in another order: version %s, want %s", got, base)
	}
	tests := []struct {
		name      string
		spec      Spec
		templates map[string][]byte
		vars      map[string]string
	}{
		{name: "variable", spec: spec, templates: templates, vars: map[string]string{"a": "2"}},
		{name: "template text", spec: spec, templates: map[string][]byte{"a.tmpl": []byte("a={{ .a }}\n"), "b.tmpl": []byte("b \n")}, vars: vars},
		{name: "path", spec: Spec{Files: []FileSpec{spec.Files[0], {Template: "b.tmpl", Path: "/etc/b2", Mode: "0600"}}}, templates: templates, vars: vars},
		{name: "mode", spec: Spec{Files: []FileSpec{spec.Files[0], {Template: "b.tmpl", Path: "/etc/b", Mode: "0640"}}}, templates: templates, vars: vars},
		{name: "name", spec: Spec{Files: []FileSpec{spec.Files[0], {Template: "b2.tmpl", Path: "/etc/b", Mode: "0600"}}}, templates: map[string][]byte{"a.tmpl": templates["a.tmpl"], "b2.tmpl": templates["b.tmpl"]}, vars: vars},
		{name: "one file fewer", spec: Spec{Files: spec.Files[:1]}, templates: templates, vars: vars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(tt.spec, tt.templates, tt.vars); got == base {
				t.Errorf("a changed %s kept version %s", tt.name, got)
			}
		})
	}
}

func TestNewSetChecks(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{name: "duplicate name", files: []File{{Name: "a", Path: "/a"}, {Name: "a", Path: "/b"}}, want: `file name "a" twice`},
		{name: "duplicate path", files: []File{{Name: "a", Path: "/a"}, {Name: "b", Path: "/a"}}, want: `path "/a" twice`},
		{name: "relative path", files: []File{{Name: "a", Path: "a"}}, want: `must be absolute`},
		{name: "name leaves the directory", files: []File{{Name: "../a", Path: "/a"}}, want: `leaves its directory`},
		{name: "setuid", files: []File{{Name: "a", Path: "/a", Mode: 0o4755}}, want: `permission bits only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSet(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	set, err := NewSet([]File{{Name: "a", Path: "/a", Mode: 0o644, Content: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	set.Files[0].Content = []byte("y")
	if _, err := set.check(); err == nil {
		t.Error("a set whose content changed after NewSet passed its check")
	}
}

func TestManifestRoundTrip(t *testing.T) {
	set, err := NewSet([]File{
		{Name: "z/b", Path: "/etc/with space/b", Mode: 0o600, Content: []byte("b")},
		{Name: "a", Path: "/etc/a", Mode: 0o644, Content: []byte("a")},
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := set.check()
	if err != nil {
		t.Fatal(err)
	}
	m := manifest(entries)
	back, err := parseManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(manifest(back)) != string(m) || versionOf(m) != set.Version {
		t.Errorf("manifest did not round-trip:\n%s\n%s", m, manifest(back))
	}
	for _, bad := range []string{"", "deployctl-config 2\n", manifestHeader + "\n0644\tzz\ta\t/a\n", manifestHeader + "\n0644\t" + strings.Repeat("0", 64) + "\ta\n"} {
		if _, err := parseManifest([]byte(bad)); err == nil {
			t.Errorf("parseManifest(%q) accepted it", bad)
		}
	}
}
