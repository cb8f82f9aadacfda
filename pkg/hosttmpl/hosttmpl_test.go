package hosttmpl

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := Vars{"host": "rb1001", "address": "127.0.1.1", "port": "8080"}
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"plain", "no placeholders", "no placeholders", false},
		{"several", "http://{address}:{port}/x?h={host}", "http://127.0.1.1:8080/x?h=rb1001", false},
		{"literal brace", "{{host}", "{host}", false},
		{"unknown", "{nope}", "", true},
		{"unclosed is literal", "{host", "{host", false},
		{"empty braces are literal", "{}", "{}", false},
		{"promql selector", `up{instance="{host}",code=~"5.."}`, `up{instance="rb1001",code=~"5.."}`, false},
		{"json is literal", `{"a": "{address}"}`, `{"a": "127.0.1.1"}`, false},
		{"typo is an error", "{hots}", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.in, vars)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Expand(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandAllKeepsArgvBoundaries(t *testing.T) {
	got, err := ExpandAll([]string{"app", "--name={host}"}, Vars{"host": "a b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app", "--name=a b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders(`{a}-{{b}-{c}-{x="{y}"}`)
	if want := []string{"a", "c", "y"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
