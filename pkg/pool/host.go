package pool

import "github.com/deployctl/deployctl/pkg/hosttmpl"

// Host is one host as the pool knows it: its inventory name and the
// variables its templates (etcd key, HAProxy server name) are filled from.
type Host struct {
	Name string        `json:"name"`
	Vars hosttmpl.Vars `json:"vars,omitempty"` // inventory vars such as dc, cluster, service; {host} is added from Name
}

// vars returns the host's template variables with {host} set to its name
// unless the inventory set it already.
func (h Host) vars() hosttmpl.Vars {
	if _, ok := h.Vars["host"]; ok {
		return h.Vars
	}
	return h.Vars.With("host", h.Name)
}

// expand fills one per-host template.
func (h Host) expand(tmpl string) (string, error) {
	return hosttmpl.Expand(tmpl, h.vars())
}
