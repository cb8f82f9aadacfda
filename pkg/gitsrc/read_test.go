package gitsrc

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readFixture has a config tree that changes between two revs.
func readFixture(t *testing.T) (r *gitRepo, old, cur string) {
	t.Helper()
	r = newGitRepo(t)
	r.write("schema_version", "3\n", 0o644)
	r.write("config/app.yaml.tmpl", "port: {{ .port }}\n", 0o644)
	old = r.commit("schema 3")
	r.write("schema_version", "4\n", 0o644)
	r.write("config/app.yaml.tmpl", "port: {{ .port }}\nworkers: 4\n", 0o644)
	r.write("config/nested/log.yaml", "level: info\n", 0o644)
	r.write("bin/start", "#!/bin/sh\n", 0o755)
	if err := os.Symlink("schema_version", filepath.Join(r.dir, "version-link")); err != nil {
		t.Fatal(err)
	}
	cur = r.commit("Schema 4 and a log config\n\nLonger body.")
	return r, old, cur
}

func TestReadFile(t *testing.T) {
	r, old, cur := readFixture(t)
	s := r.open(t)
	tests := []struct {
		name     string
		rev      string
		path     string
		want     string
		notExist bool   // the error must wrap fs.ErrNotExist
		wantMsg  string // or the error must mention this
	}{
		{name: "current", rev: cur, path: "schema_version", want: "4\n"},
		{name: "older rev", rev: old, path: "schema_version", want: "3\n"},
		{name: "nested", rev: cur, path: "config/nested/log.yaml", want: "level: info\n"},
		{name: "dot slash", rev: cur, path: "./config/../schema_version", want: "4\n"},
		{name: "executable", rev: cur, path: "bin/start", want: "#!/bin/sh\n"},
		{name: "missing", rev: cur, path: "nope.txt", notExist: true},
		{name: "missing in older rev", rev: old, path: "config/nested/log.yaml", notExist: true},
		{name: "through a file", rev: cur, path: "schema_version/x", notExist: true},
		{name: "directory", rev: cur, path: "config", wantMsg: "a directory, not a regular file"},
		{name: "root", rev: cur, path: ".", wantMsg: "root"},
		{name: "symlink", rev: cur, path: "version-link", wantMsg: "a symlink, not a regular file"},
		{name: "leaves the repository", rev: cur, path: "../etc/passwd", wantMsg: "leaves the repository"},
		{name: "absolute", rev: cur, path: "/etc/passwd", wantMsg: "absolute"},
		{name: "not a rev", rev: "main", path: "schema_version", wantMsg: "not a full commit hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ReadFile(context.Background(), tt.rev, tt.path)
			switch {
			case tt.notExist:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("ReadFile(%q) error = %v, want fs.ErrNotExist", tt.path, err)
				}
			case tt.wantMsg != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("ReadFile(%q) error = %v, want one mentioning %q", tt.path, err, tt.wantMsg)
				}
			default:
				if err != nil || string(got) != tt.want {
					t.Fatalf("ReadFile(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
				}
			}
		})
	}
}

func TestFiles(t *testing.T) {
	r, old, cur := readFixture(t)
	s := r.open(t)
	tests := []struct {
		name     string
		rev      string
		dir      string
		want     map[string]string
		notExist bool
		wantMsg  string
	}{
		{
			name: "config dir", rev: cur, dir: "config",
			want: map[string]string{
				"app.yaml.tmpl":   "port: {{ .port }}\nworkers: 4\n",
				"nested/log.yaml": "level: info\n",
			},
		},
		{
			name: "config dir in older rev", rev: old, dir: "config/",
			want: map[string]string{"app.yaml.tmpl": "port: {{ .port }}\n"},
		},
		{name: "subdirectory", rev: cur, dir: "config/nested", want: map[string]string{"log.yaml": "level: info\n"}},
		{name: "missing", rev: cur, dir: "templates", notExist: true},
		{name: "missing in older rev", rev: old, dir: "config/nested", notExist: true},
		{name: "a file", rev: cur, dir: "schema_version", wantMsg: "not a directory"},
		{name: "root holds a symlink", rev: cur, dir: "", wantMsg: "version-link is a symlink"},
		{name: "leaves the repository", rev: cur, dir: "..", wantMsg: "leaves the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Files(context.Background(), tt.rev, tt.dir)
			switch {
			case tt.notExist:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Files(%q) error = %v, want fs.ErrNotExist", tt.dir, err)
				}
			case tt.wantMsg != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("Files(%q) error = %v, want one mentioning %q", tt.dir, err, tt.wantMsg)
				}
			default:
				if err != nil {
					t.Fatalf("Files(%q): %v", tt.dir, err)
				}
				gotStr := make(map[string]string, len(got))
				for k, v := range got {
					gotStr[k] = string(v)
				}
				if !maps.Equal(gotStr, tt.want) {
					t.Fatalf("Files(%q) = %q, want %q", tt.dir, gotStr, tt.want)
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	r, old, cur := readFixture(t)
	s := r.open(t)
	tests := []struct {
		name string
		rev  string
		want Commit
	}{
		{
			name: "one-line message", rev: old,
			want: Commit{Rev: old, Subject: "schema 3", Author: "Ada Author", Email: "ada@example.test", Time: time.Unix(baseTime+60, 0)},
		},
		{
			name: "message with a body", rev: cur,
			want: Commit{Rev: cur, Subject: "Schema 4 and a log config", Author: "Ada Author", Email: "ada@example.test", Time: time.Unix(baseTime+120, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Describe(context.Background(), tt.rev)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("Time = %v, want %v", got.Time, tt.want.Time)
			}
			got.Time = tt.want.Time
			if got != tt.want {
				t.Errorf("Describe = %+v, want %+v", got, tt.want)
			}
			if str := got.String(); !strings.HasPrefix(str, tt.rev[:12]+" "+tt.want.Subject+" (Ada Author, ") {
				t.Errorf("String() = %q", str)
			}
		})
	}
	if _, err := s.Describe(context.Background(), strings.Repeat("0", 40)); !errors.Is(err, ErrUnknownRef) {
		t.Errorf("Describe of a missing commit: %v, want ErrUnknownRef", err)
	}
}
