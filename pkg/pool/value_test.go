package pool

import (
	"errors"
	"testing"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		pooled Pooled
		weight int
		bad    bool
	}{
		{name: "yes", in: `{"pooled":"yes","weight":10}`, pooled: PooledYes, weight: 10},
		{name: "no", in: `{"pooled":"no","weight":0}`, pooled: PooledNo},
		{name: "inactive", in: `{"pooled":"inactive","weight":3}`, pooled: PooledInactive, weight: 3},
		{name: "other fields kept", in: `{"weight":5,"pooled":"yes","comment":"x"}`, pooled: PooledYes, weight: 5},
		{name: "spaces", in: " {\"pooled\" : \"yes\", \"weight\" : 1}\n", pooled: PooledYes, weight: 1},
		{name: "not JSON", in: `pooled=yes`, bad: true},
		{name: "empty", in: ``, bad: true},
		{name: "null", in: `null`, bad: true},
		{name: "array", in: `["yes"]`, bad: true},
		{name: "two objects", in: `{"pooled":"yes","weight":1}{}`, bad: true},
		{name: "unknown pooled", in: `{"pooled":"maybe","weight":1}`, bad: true},
		{name: "pooled unknown spelled out", in: `{"pooled":"unknown","weight":1}`, bad: true},
		{name: "pooled not a string", in: `{"pooled":true,"weight":1}`, bad: true},
		{name: "no pooled", in: `{"weight":1}`, bad: true},
		{name: "no weight", in: `{"pooled":"yes"}`, bad: true},
		{name: "negative weight", in: `{"pooled":"yes","weight":-1}`, bad: true},
		{name: "fractional weight", in: `{"pooled":"yes","weight":1.5}`, bad: true},
		{name: "weight a string", in: `{"pooled":"yes","weight":"10"}`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseValue([]byte(tt.in))
			if tt.bad {
				if !errors.Is(err, ErrBadValue) {
					t.Fatalf("parseValue(%q) = %+v, %v; want ErrBadValue", tt.in, v, err)
				}
				return
			}
			if err != nil || v.pooled != tt.pooled || v.weight != tt.weight {
				t.Fatalf("parseValue(%q) = %v/%d, %v; want %v/%d", tt.in, v.pooled, v.weight, err, tt.pooled, tt.weight)
			}
		})
	}
}

func TestWithPooledKeepsOtherFields(t *testing.T) {
	v, err := parseValue([]byte(`{"pooled":"yes","weight":7,"comment":"rack 3"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := v.withPooled(PooledNo)
	if want := `{"comment":"rack 3","pooled":"no","weight":7}`; !sameJSON(got, []byte(want)) {
		t.Errorf("withPooled(no) = %s, want %s", got, want)
	}
}

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":"x"}`, `{ "b":"x", "a":1 }`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `{"a":1,"b":2}`, false},
		{`not json`, `not json`, false},
	}
	for _, tt := range tests {
		if got := sameJSON([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPooledText(t *testing.T) {
	for _, p := range []Pooled{PooledUnknown, PooledYes, PooledNo, PooledInactive} {
		b, _ := p.MarshalText()
		var q Pooled
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("%v: round trip gave %v, %v", p, q, err)
		}
	}
	var q Pooled
	if err := q.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("UnmarshalText(maybe): no error")
	}
}
