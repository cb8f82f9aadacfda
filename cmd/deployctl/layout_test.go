package main

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binary must not carry test helpers: the fleet, the load generator,
// the sshd harness or package testing.
func TestBinaryDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "testing",
			strings.HasSuffix(dep, "/internal/testfleet"),
			strings.HasSuffix(dep, "/internal/loadgen"),
			strings.HasSuffix(dep, "/sshdtest"),
			strings.HasSuffix(dep, "/pooltest"):
			t.Errorf("deployctl imports %s", dep)
		}
	}
}

// Every package has exactly one package doc comment.
func TestOnePackageDocEach(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Doc}}", "../../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, doc, _ := strings.Cut(line, " ")
		if strings.TrimSpace(doc) == "" {
			t.Errorf("%s has no package doc", path)
		}
	}
	// And not two: a doc comment on the package clause of one file only.
	listed, err := exec.Command("git", "-C", "../..", "ls-files", "*.go").Output()
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]string{}
	for _, f := range strings.Fields(string(listed)) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join("../..", f), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if file.Doc != nil {
			docs[filepath.Dir(f)] = append(docs[filepath.Dir(f)], filepath.Base(f))
		}
	}
	for dir, files := range docs {
		if len(files) > 1 {
			t.Errorf("%s has %d package doc comments: %v", dir, len(files), files)
		}
	}
}
