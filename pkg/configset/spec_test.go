package configset

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSpecYAML(t *testing.T) {
	const doc = `
templates: conf
files:
  - template: app.conf.tmpl
    path: /srv/etc/exampleapp/app.conf
    mode: 0640
  - template: sub/log.yaml.tmpl
    path: /srv/etc/exampleapp/log.yaml
reload: true
`
	var s Spec
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	s = s.WithDefaults()
	if s.Templates != "conf" || !s.Reload || len(s.Files) != 2 {
		t.Fatalf("decoded %+v", s)
	}
	for i, want := range []struct {
		name string
		mode fs.FileMode
	}{{"app.conf", 0o640}, {"sub/log.yaml", DefaultMode}} {
		f := s.Files[i]
		if m, err := f.FileMode(); err != nil || m != want.mode || f.Name() != want.name {
			t.Errorf("files[%d]: name %q mode %v (%v), want %q %v", i, f.Name(), m, err, want.name, want.mode)
		}
	}
	if got := (Spec{}).WithDefaults().Templates; got != DefaultTemplates {
		t.Errorf("default templates %q, want %q", got, DefaultTemplates)
	}

	var bad Spec
	dec = yaml.NewDecoder(strings.NewReader("files:\n  - template: a\n    paht: /x\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&bad); err == nil {
		t.Error("an unknown key decoded without an error")
	}
}

func TestSpecValidate(t *testing.T) {
	file := func(tmpl, path, mode string) FileSpec { return FileSpec{Template: tmpl, Path: path, Mode: mode} }
	tests := []struct {
		name string
		spec Spec
		want []string // "path: message part"
	}{
		{name: "zero spec renders nothing", spec: Spec{}},
		{name: "good", spec: Spec{Files: []FileSpec{file("app.conf.tmpl", "/etc/app.conf", "0644"), file("b", "/etc/b", "600")}}},
		{name: "templates dot is the repository root", spec: Spec{Templates: ".", Files: []FileSpec{file("a", "/a", "")}}},
		{name: "templates without files", spec: Spec{Templates: "config"}, want: []string{"files: at least one file"}},
		{name: "reload without files", spec: Spec{Reload: true}, want: []string{"files: at least one file"}},
		{name: "templates absolute", spec: Spec{Templates: "/config", Files: []FileSpec{file("a", "/a", "")}}, want: []string{"templates: \"/config\" must be relative"}},
		{name: "templates leaves the repo", spec: Spec{Templates: "../x", Files: []FileSpec{file("a", "/a", "")}}, want: []string{"templates: \"../x\" leaves"}},
		{
			name: "every problem at once",
			spec: Spec{Files: []FileSpec{
				file("", "", "abc"),
				file("a/../b", "etc/b", "01777"),
				file("c", "/etc/c/", "0644"),
			}},
			want: []string{
				"files[0].template: required",
				"files[0].path: required",
				"files[0].mode: mode \"abc\"",
				"files[1].template: \"a/../b\" is not a clean path",
				"files[1].path: \"etc/b\" must be absolute",
				"files[1].mode: mode \"01777\"",
				"files[2].path: \"/etc/c/\" is not a clean path",
			},
		},
		{
			name: "duplicate path and rendered name",
			spec: Spec{Files: []FileSpec{file("a.conf.tmpl", "/etc/a", ""), file("a.conf", "/etc/a", "")}},
			want: []string{"files[1].template: renders to \"a.conf\", as files[0] does", "files[1].path: \"/etc/a\" is also files[0].path"},
		},
		{
			name: "a name inside another",
			spec: Spec{Files: []FileSpec{file("a.tmpl", "/etc/a", ""), file("a/b.tmpl", "/etc/b", "")}},
			want: []string{"files[1].template: renders to \"a/b\", inside \"a\" which files[0] renders to"},
		},
		{name: "reserved name", spec: Spec{Files: []FileSpec{file(ManifestName, "/etc/a", "")}}, want: []string{"files[0].template: renders to \".deployctl-config\", a name deployctl cannot use"}},
		{name: "root path", spec: Spec{Files: []FileSpec{file("a", "/", "")}}, want: []string{"files[0].path: \"/\" is the root directory"}},
		{name: "tab in path", spec: Spec{Files: []FileSpec{file("a", "/etc/a\tb", "")}}, want: []string{"files[0].path: \"/etc/a\\tb\" contains"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.spec.Validate() {
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate:\n%s\nwant %d problems:\n%s", strings.Join(got, "\n"), len(tt.want), strings.Join(tt.want, "\n"))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("no problem starting %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}
