package inventory

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Group is an ordered subset of an environment's hosts.
type Group struct {
	Name  string
	Hosts []string
	Vars  map[string]string
	line  int
}

// Groups keeps the groups in the order they were written. In YAML it is a
// mapping from group name to either a list of host names or
// {hosts: [...], vars: {...}}.
type Groups []Group

type groupObject struct {
	Hosts []string          `yaml:"hosts"`
	Vars  map[string]string `yaml:"vars"`
}

// UnmarshalYAML decodes the mapping, keeping its order.
func (g *Groups) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: groups must be a mapping of group name to hosts", n.Line)
	}
	out := make(Groups, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		grp := Group{Name: k.Value, line: k.Line}
		switch v.Kind {
		case yaml.SequenceNode:
			if err := v.Decode(&grp.Hosts); err != nil {
				return err
			}
		case yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				if key := v.Content[j]; key.Value != "hosts" && key.Value != "vars" {
					return fmt.Errorf("line %d: field %s not found in type inventory.Group", key.Line, key.Value)
				}
			}
			var obj groupObject
			if err := v.Decode(&obj); err != nil {
				return err
			}
			grp.Hosts, grp.Vars = obj.Hosts, obj.Vars
		default:
			return fmt.Errorf("line %d: group %q must be a list of hosts or {hosts: [...], vars: {...}}", v.Line, k.Value)
		}
		out = append(out, grp)
	}
	*g = out
	return nil
}

// MarshalYAML writes groups back as an ordered mapping.
func (g Groups) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, grp := range g {
		var v yaml.Node
		if len(grp.Vars) > 0 {
			if err := v.Encode(groupObject{Hosts: grp.Hosts, Vars: grp.Vars}); err != nil {
				return nil, err
			}
		} else if err := v.Encode(grp.Hosts); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: grp.Name}, &v)
	}
	return n, nil
}
