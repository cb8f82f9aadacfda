package main

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// conftool's pooled values.
const (
	pooledYes      = "yes"
	pooledNo       = "no"
	pooledInactive = "inactive"
)

// maxWeight is HAProxy's largest server weight.
const maxWeight = 256

// poolValue is conftool's JSON value for one server.
type poolValue struct {
	Pooled string `json:"pooled"`
	Weight *int   `json:"weight"`
}

// serverName is what HAProxy accepts as a server name.
var serverName = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// parsePoolValue reads and checks a key's value.
func parsePoolValue(b []byte) (poolValue, error) {
	var v poolValue
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("value %q: %w", b, err)
	}
	switch v.Pooled {
	case pooledYes, pooledNo, pooledInactive:
	default:
		return v, fmt.Errorf("value %q: pooled must be yes, no or inactive", b)
	}
	if v.Weight != nil && (*v.Weight < 0 || *v.Weight > maxWeight) {
		return v, fmt.Errorf("value %q: weight must be 0..%d", b, maxWeight)
	}
	return v, nil
}

// commands returns the runtime API commands that put server into the state
// value asks for; a nil value means the key was deleted.
func commands(backend, server string, value *poolValue) []string {
	target := backend + "/" + server
	if value == nil {
		return []string{"set server " + target + " state maint"}
	}
	switch value.Pooled {
	case pooledYes:
		var cmds []string
		if value.Weight != nil {
			cmds = append(cmds, fmt.Sprintf("set weight %s %d", target, *value.Weight))
		}
		return append(cmds, "set server "+target+" state ready")
	case pooledNo:
		return []string{"set server " + target + " state drain"}
	default:
		return []string{"set server " + target + " state maint"}
	}
}
