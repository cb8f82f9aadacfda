package sshx_test

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"plain words", []string{"tar", "-x", "-C", "/srv/app"}, `'tar' -x -C /srv/app`},
		{"first word always quoted", []string{"if"}, `'if'`},
		{"assignment-looking first word", []string{"A=b", "c"}, `'A=b' c`},
		{"spaces", []string{"ls", "a b"}, `'ls' 'a b'`},
		{"single quote", []string{"echo", "it's"}, `'echo' 'it'\''s'`},
		{"double quote", []string{"echo", `say "hi"`}, `'echo' 'say "hi"'`},
		{"command substitution", []string{"echo", "$(rm -rf /)", "`id`"}, `'echo' '$(rm -rf /)' '` + "`id`" + `'`},
		{"newline", []string{"echo", "a\nb"}, "'echo' 'a\nb'"},
		{"empty argument", []string{"printf", "%s", ""}, `'printf' %s ''`},
		{"glob and tilde", []string{"ls", "*", "~", "a=b"}, `'ls' '*' '~' 'a=b'`},
		{"backslash", []string{"echo", `a\b`}, `'echo' 'a\b'`},
		{"non-UTF-8", []string{"echo", "\xff\xfe"}, "'echo' '\xff\xfe'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sshx.Quote(tt.argv...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.argv, got, tt.want)
			}
			roundTrip(t, tt.argv)
		})
	}
}

func TestQuoteRejects(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want error
	}{
		{"no argv", nil, sshx.ErrEmptyArgv},
		{"NUL in argument", []string{"echo", "a\x00b"}, sshx.ErrNUL},
		{"NUL in command", []string{"\x00"}, sshx.ErrNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sshx.Quote(tt.argv...); !errors.Is(err, tt.want) {
				t.Fatalf("Quote(%q) error = %v, want %v", tt.argv, err, tt.want)
			}
		})
	}
}

// FuzzQuote checks that every argv without NUL survives a real shell:
// `sh -c "printf '%s\0' <quoted argv>"` prints exactly argv back.
func FuzzQuote(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"a b", "it's"},
		{"$(id)", "`id`"},
		{"a\nb", "\\"},
		{"\xff\xfe", "'\"'\""},
		{"-n", "--"},
		{"*", "~root"},
		{"${HOME}", "!!"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		argv := []string{a, b}
		if strings.ContainsRune(a+b, 0) {
			if _, err := sshx.Quote(argv...); !errors.Is(err, sshx.ErrNUL) {
				t.Fatalf("Quote(%q) error = %v, want ErrNUL", argv, err)
			}
			return
		}
		roundTrip(t, argv)
	})
}

// shells are the POSIX shells a remote login shell is likely to be.
var shells = []string{"/bin/sh", "/bin/bash"}

func roundTrip(t *testing.T, argv []string) {
	t.Helper()
	line, err := sshx.Quote(append([]string{"printf", `%s\0`}, argv...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shells {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		out, err := exec.Command(sh, "-c", line).Output()
		if err != nil {
			t.Fatalf("%s -c %q: %v", sh, line, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if len(argv) == 0 {
			got = nil
		}
		if !slices.Equal(got, argv) {
			t.Fatalf("%s -c %q printed %q, want %q", sh, line, got, argv)
		}
	}
}

func TestScript(t *testing.T) {
	got := sshx.Script(`test -d "$1"`, "/srv/app")
	if want := []string{"sh", "-c", `test -d "$1"`, "deployctl", "/srv/app"}; !slices.Equal(got, want) {
		t.Errorf("Script = %q, want %q", got, want)
	}
	if got := sshx.Script("true"); !slices.Equal(got, []string{"sh", "-c", "true", "deployctl"}) {
		t.Errorf("Script without args = %q", got)
	}

	// The result is a fresh slice: changing it leaves the caller's args be.
	args := []string{"a", "b"}
	argv := sshx.Script(`:`, args...)
	argv[4] = "x"
	if args[0] != "a" {
		t.Errorf("Script shares its args slice: args = %q", args)
	}

	// Run for real: $0 is deployctl, and every argument arrives as it was,
	// whatever the shell would make of it in the script's text.
	args = []string{"it's", "$(id)", "a b", "", "-n", "\xff\n*"}
	out, err := (&sshx.Local{}).Run(context.Background(), nil, sshx.Script(`printf '%s\0' "$0" "$#" "$@"`, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	got = strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if want := append([]string{"deployctl", "6"}, args...); !slices.Equal(got, want) {
		t.Errorf("script printed %q, want %q", got, want)
	}
}
