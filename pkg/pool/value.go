package pool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// value is a conftool pool value: {"pooled":"yes"|"no"|"inactive","weight":N},
// with any other fields kept as they are.
type value struct {
	fields map[string]json.RawMessage
	pooled Pooled
	weight int
}

// parseValue reads a conftool value; anything else wraps ErrBadValue.
func parseValue(raw []byte) (value, error) {
	v := value{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v.fields); err != nil || v.fields == nil || dec.More() {
		return value{}, fmt.Errorf("%w: not a JSON object: %q", ErrBadValue, clip(string(raw)))
	}
	var pooled string
	if err := json.Unmarshal(v.fields["pooled"], &pooled); err != nil {
		return value{}, fmt.Errorf("%w: %q: pooled must be a string (yes, no or inactive)", ErrBadValue, clip(string(raw)))
	}
	p, err := ParsePooled(pooled)
	if err != nil {
		return value{}, fmt.Errorf("%w: %q: %v", ErrBadValue, clip(string(raw)), err)
	}
	v.pooled = p
	if err := json.Unmarshal(v.fields["weight"], &v.weight); err != nil || v.weight < 0 {
		return value{}, fmt.Errorf("%w: %q: weight must be a whole number >= 0", ErrBadValue, clip(string(raw)))
	}
	return v, nil
}

// withPooled returns the value's JSON with pooled set to p and every other
// field as it was.
func (v value) withPooled(p Pooled) []byte {
	fields := make(map[string]json.RawMessage, len(v.fields))
	for k, x := range v.fields {
		fields[k] = x
	}
	fields["pooled"] = json.RawMessage(`"` + p.String() + `"`)
	b, _ := json.Marshal(fields) // cannot fail: every field is valid JSON
	return b
}

// sameJSON reports whether two JSON texts hold the same data, whatever
// their spacing and key order.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
