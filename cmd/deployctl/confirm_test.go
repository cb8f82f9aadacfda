package main

import (
	"errors"
	"strings"
	"testing"
)

func TestConfirm(t *testing.T) {
	tests := []struct {
		name   string
		tty    bool
		yes    bool
		answer string
		want   error
	}{
		{"no terminal is never asked", false, false, "", nil},
		{"--yes is not asked", true, true, "", nil},
		{"y", true, false, "y\n", nil},
		{"YES", true, false, " YES \n", nil},
		{"n", true, false, "n\n", errNotConfirmed},
		{"empty line", true, false, "\n", errNotConfirmed},
		{"stdin closed", true, false, "", errNotConfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			p := prompter{in: strings.NewReader(tt.answer), out: &out, tty: tt.tty}
			if err := p.confirm(tt.yes, "go?"); !errors.Is(err, tt.want) {
				t.Errorf("confirm = %v, want %v", err, tt.want)
			}
			if asked := strings.Contains(out.String(), "go? [y/N]"); asked != (tt.tty && !tt.yes) {
				t.Errorf("asked = %v", asked)
			}
		})
	}
}
