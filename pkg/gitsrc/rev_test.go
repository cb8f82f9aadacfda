package gitsrc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

const fullRev = "0123456789abcdef0123456789abcdef01234567"

func TestParseRev(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // a part of the error, or "" for success
	}{
		{"full lowercase", fullRev, ""},
		{"all zeros", strings.Repeat("0", 40), ""},
		{"all f", strings.Repeat("f", 40), ""},
		{"empty", "", "0 characters, want a full commit hash of 40 hex digits"},
		{"short hash", fullRev[:12], "12 characters, want a full commit hash of 40 hex digits"},
		{"one short", fullRev[:39], "39 characters"},
		{"one long", fullRev + "0", "41 characters"},
		{"sha-256 length", strings.Repeat("a", 64), "64 characters"},
		{"trailing newline", fullRev[:39] + "\n", `"\n" at offset 39 is not a hex digit`},
		{"surrounding space", " " + fullRev[1:], `" " at offset 0 is not a hex digit`},
		{"uppercase", strings.ToUpper(fullRev), `uppercase hex digit "A" at offset 10, want lowercase`},
		{"one uppercase digit", fullRev[:39] + "F", `uppercase hex digit "F" at offset 39`},
		{"not hex", "g" + fullRev[1:], `"g" at offset 0 is not a hex digit`},
		{"a ref name", "refs/heads/main" + strings.Repeat("x", 25), `"r" at offset 0 is not a hex digit`},
		{"non-UTF-8", "\xff" + fullRev[1:], `"\xff" at offset 0 is not a hex digit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gitsrc.ParseRev(tt.in)
			if tt.want == "" {
				if err != nil || got.String() != tt.in {
					t.Fatalf("ParseRev(%q) = %q, %v; want it back, nil", tt.in, got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseRev(%q) = %q, nil; want an error", tt.in, got)
			}
			if !got.IsZero() {
				t.Errorf("ParseRev(%q) returned %q with its error, want the zero Rev", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rev ") {
				t.Errorf("ParseRev(%q) error %q, want it to say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestRevMethods(t *testing.T) {
	r, err := gitsrc.ParseRev(fullRev)
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != fullRev {
		t.Errorf("String() = %q, want %q", r.String(), fullRev)
	}
	if r.Short() != "0123456789ab" {
		t.Errorf("Short() = %q, want %q", r.Short(), "0123456789ab")
	}
	if r.IsZero() {
		t.Error("IsZero() of a parsed rev = true")
	}
	var zero gitsrc.Rev
	if !zero.IsZero() || zero.String() != "" || zero.Short() != "" {
		t.Errorf("zero Rev: IsZero %v, String %q, Short %q; want true, empty, empty", zero.IsZero(), zero.String(), zero.Short())
	}
}

// A Rev reads and writes as the plain string state files hold.
func TestRevJSON(t *testing.T) {
	type record struct {
		Rev gitsrc.Rev `json:"rev"`
	}
	b, err := json.Marshal(record{gitsrc.Rev(fullRev)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rev":"` + fullRev + `"}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	var back record
	if err := json.Unmarshal(b, &back); err != nil || back.Rev != gitsrc.Rev(fullRev) {
		t.Errorf("unmarshal = %+v, %v; want %s", back, err, fullRev)
	}
	if b, _ := json.Marshal(record{}); string(b) != `{"rev":""}` {
		t.Errorf("marshal of the zero Rev = %s, want an empty string", b)
	}
}

func TestShort(t *testing.T) {
	tests := []struct{ in, want string }{
		{fullRev, "0123456789ab"},
		{strings.Repeat("a", 64), "aaaaaaaaaaaa"},
		{"0123456789abc", "0123456789ab"},
		{"0123456789ab", "0123456789ab"},
		{"abc123", "abc123"},
		{"", ""},
		{"none", "none"},
		{"main", "main"},
		// Like the helpers it replaces, Short cuts any longer string, hex
		// or not: it is for messages and never judges its input.
		{"refs/heads/main", "refs/heads/m"},
		{strings.ToUpper(fullRev), "0123456789AB"},
	}
	for _, tt := range tests {
		if got := gitsrc.Short(tt.in); got != tt.want {
			t.Errorf("Short(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRev(f *testing.F) {
	for _, s := range []string{fullRev, strings.ToUpper(fullRev), fullRev[:12], "", fullRev + "\n", strings.Repeat("g", 40), strings.Repeat("0", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := gitsrc.ParseRev(s)
		if err != nil {
			if !r.IsZero() {
				t.Fatalf("ParseRev(%q) = %q with error %v, want the zero Rev", s, r, err)
			}
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRev(%q).String() = %q, want the input", s, r.String())
		}
		if len(s) != 40 || strings.Trim(s, "0123456789abcdef") != "" {
			t.Fatalf("ParseRev accepted %q, not 40 lowercase hex digits", s)
		}
		again, err := gitsrc.ParseRev(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRev(%q) = %q, %v; want %q back", r.String(), again, err, r)
		}
		if r.IsZero() || r.Short() != s[:12] || gitsrc.Short(s) != s[:12] {
			t.Fatalf("%q: IsZero %v, Short %q, want false, %q", s, r.IsZero(), r.Short(), s[:12])
		}
	})
}
