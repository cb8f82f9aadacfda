package inventory

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// tree is a parsed YAML document whose nodes remember which file they came
// from, so a problem found after merging can still name its file and line.
type tree struct {
	root   *yaml.Node // the top mapping node (nil for an empty file)
	origin map[*yaml.Node]string
}

func newTree(file string, doc *yaml.Node) *tree {
	t := &tree{origin: map[*yaml.Node]string{}}
	if doc != nil && doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		t.root = doc.Content[0]
	}
	t.mark(t.root, file)
	return t
}

func (t *tree) mark(n *yaml.Node, file string) {
	if n == nil {
		return
	}
	t.origin[n] = file
	for _, c := range n.Content {
		t.mark(c, file)
	}
}

// overlay returns a new tree: base with over laid on top. Mappings merge key
// by key; anything else in over replaces what base had.
func overlay(base, over *tree) *tree {
	t := &tree{origin: map[*yaml.Node]string{}}
	for k, v := range base.origin {
		t.origin[k] = v
	}
	for k, v := range over.origin {
		t.origin[k] = v
	}
	t.root = t.merge(base.root, over.root)
	return t
}

// merge lays over on base. A merged mapping is a new node; it keeps the
// origin of base, where the section was first written.
func (t *tree) merge(base, over *yaml.Node) *yaml.Node {
	if base == nil {
		return over
	}
	if over == nil {
		return base
	}
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := *base
	out.Content = append([]*yaml.Node(nil), base.Content...)
	t.origin[&out] = t.origin[base]
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		j := mappingIndex(&out, k.Value)
		if j < 0 {
			out.Content = append(out.Content, k, v)
			continue
		}
		out.Content[j] = k
		out.Content[j+1] = t.merge(out.Content[j+1], v)
	}
	return &out
}

func mappingIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// locate finds the node a field path names ("groups.canary[2]",
// "checks[0].url") and returns its file and line. When the path goes past
// what was written (a missing field), the nearest written parent is used.
func (t *tree) locate(path string) (string, int) {
	n := t.root
	best := n
	if n == nil {
		return "", 0
	}
	for _, seg := range splitPath(path) {
		var next *yaml.Node
		switch {
		case seg.key != "" && n.Kind == yaml.MappingNode:
			if j := mappingIndex(n, seg.key); j >= 0 {
				best = n.Content[j] // the key: its line is the field's line
				next = n.Content[j+1]
			}
		case seg.key == "" && n.Kind == yaml.SequenceNode && seg.index < len(n.Content):
			next = n.Content[seg.index]
			best = next
		case seg.key == "" && n.Kind == yaml.MappingNode:
			// groups written as {hosts: [...]}: an index applies to hosts
			if j := mappingIndex(n, "hosts"); j >= 0 && seg.index < len(n.Content[j+1].Content) {
				next = n.Content[j+1].Content[seg.index]
				best = next
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return t.origin[best], best.Line
}

// pathAt returns the field path of the key written at line (or of the first
// node on that line), for yaml errors that only carry a line.
func (t *tree) pathAt(line int, key string) string {
	var found string
	var walk func(n *yaml.Node, path string) bool
	walk = func(n *yaml.Node, path string) bool {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if k.Line == line && (key == "" || k.Value == key) {
					found = p
					return true
				}
				if walk(v, p) {
					return true
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := path + "[" + strconv.Itoa(i) + "]"
				if c.Line == line && c.Kind == yaml.ScalarNode && key == "" {
					found = p
					return true
				}
				if walk(c, p) {
					return true
				}
			}
		case yaml.ScalarNode:
			if n.Line == line && key == "" {
				found = path
				return true
			}
		}
		return false
	}
	if t.root != nil {
		walk(t.root, "")
	}
	return found
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

type pathSeg struct {
	key   string
	index int
}

func splitPath(path string) []pathSeg {
	var out []pathSeg
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, pathSeg{key: part})
				break
			}
			if i > 0 {
				out = append(out, pathSeg{key: part[:i]})
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			n, _ := strconv.Atoi(part[i+1 : i+j])
			out = append(out, pathSeg{index: n})
			part = part[i+j+1:]
		}
	}
	return out
}
