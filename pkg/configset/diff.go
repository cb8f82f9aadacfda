package configset

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Limits of Diff. Beyond them it says the files are too large instead of
// diffing: the work grows with the square of the changed lines.
const (
	MaxDiffBytes = MaxFileBytes // each side
	MaxDiffEdits = 2000         // lines removed plus lines added
)

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// Diff returns a unified diff from old (the file live on the host) to new
// (the rendered one), headed "--- path (live)" and "+++ path (rendered)",
// with 3 lines of context; "" when they are equal. An empty old is a new
// file. Inputs over the limits (or holding a NUL byte) give the header and
// a line saying so instead of hunks.
func Diff(path string, old, new []byte) string {
	if bytes.Equal(old, new) {
		return ""
	}
	head := "--- " + path + " (live)\n+++ " + path + " (rendered)\n"
	if len(old) > MaxDiffBytes || len(new) > MaxDiffBytes {
		return head + fmt.Sprintf("files too large to diff (live %d bytes, rendered %d bytes; at most %d each)\n", len(old), len(new), MaxDiffBytes)
	}
	if bytes.IndexByte(old, 0) >= 0 || bytes.IndexByte(new, 0) >= 0 {
		return head + "binary files differ\n"
	}
	a, b := splitLines(old), splitLines(new)
	ops, ok := editScript(a, b, MaxDiffEdits)
	if !ok {
		return head + fmt.Sprintf("files too large to diff (more than %d changed lines)\n", MaxDiffEdits)
	}
	return head + unified(a, b, ops)
}

// splitLines splits s into lines, each keeping its "\n"; a last line
// without one stays without, so "x" and "x\n" differ.
func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s))
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

// op is one step of an edit script: keep ('='), delete ('-') or insert
// ('+') a line. a and b are the positions in each side before the step:
// the line kept or deleted is a[a], the line kept or inserted is b[b].
type op struct {
	kind byte
	a, b int
}

// editScript returns a shortest edit script from a to b, or false when it
// needs more than maxD deletions and insertions. The lines both share at
// the start and the end are set aside first; the rest goes to myers.
func editScript(a, b []string, maxD int) ([]op, bool) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	mid, ok := myers(a[pre:len(a)-suf], b[pre:len(b)-suf], maxD)
	if !ok {
		return nil, false
	}
	ops := make([]op, 0, pre+len(mid)+suf)
	for range pre {
		ops = append(ops, op{kind: '='})
	}
	ops = append(ops, mid...)
	for range suf {
		ops = append(ops, op{kind: '='})
	}
	x, y := 0, 0
	for i := range ops {
		ops[i].a, ops[i].b = x, y
		if ops[i].kind != '+' {
			x++
		}
		if ops[i].kind != '-' {
			y++
		}
	}
	return ops, true
}

// myers returns a shortest edit script from a to b (Myers' greedy
// algorithm), or false when it needs more than maxD edits. Memory is
// O(D²) for D edits, time O((N+M)·D).
func myers(a, b []string, maxD int) ([]op, bool) {
	n, m := len(a), len(b)
	// trace[d][k+d] is the furthest x reached on diagonal k (x-y) with d
	// edits, -1 where none is.
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		v := make([]int, 2*d+1)
		for i := range v {
			v[i] = -1
		}
		trace = append(trace, v)
		for k := -d; k <= d; k += 2 {
			x, _, ok := start(trace, d, k, n, m)
			if !ok {
				continue
			}
			for y := x - k; x < n && y < m && a[x] == b[y]; y++ {
				x++
			}
			v[k+d] = x
			if x == n && x-k == m {
				return backtrack(trace, d, n, m), true
			}
		}
	}
	return nil, false
}

// start returns where the d-edit path on diagonal k begins, before its
// run of equal lines: one step down (an insertion) from diagonal k+1 or
// right (a deletion) from k-1, whichever reaches further inside the grid.
func start(trace [][]int, d, k, n, m int) (x int, down, ok bool) {
	if d == 0 {
		return 0, false, true
	}
	prev := trace[d-1]
	at := func(k int) int {
		if k < -(d-1) || k > d-1 {
			return -1
		}
		return prev[k+d-1]
	}
	fromDown, fromRight := at(k+1), at(k-1)
	downOK := fromDown >= 0 && fromDown-(k+1) < m
	rightOK := fromRight >= 0 && fromRight < n
	switch {
	case downOK && (!rightOK || fromRight < fromDown):
		return fromDown, true, true
	case rightOK:
		return fromRight + 1, false, true
	}
	return 0, false, false
}

// backtrack walks the trace from (n, m) back to (0, 0) and returns the
// edit script, with the deletions of each change before its insertions.
// The positions in the ops it returns are left for editScript to count.
func backtrack(trace [][]int, d, n, m int) []op {
	var rev []op
	x, y := n, m
	for ; d >= 0; d-- {
		k := x - y
		x0, down, _ := start(trace, d, k, n, m)
		for x > x0 {
			x--
			y--
			rev = append(rev, op{'=', x, y})
		}
		if d == 0 {
			break
		}
		if down {
			y--
			rev = append(rev, op{'+', x, y})
		} else {
			x--
			rev = append(rev, op{'-', x, y})
		}
	}
	slices.Reverse(rev)
	// Within each change, deletions first. The sort is stable, so each
	// side keeps its order.
	rank := func(o op) int {
		if o.kind == '-' {
			return 0
		}
		return 1
	}
	for i := 0; i < len(rev); {
		if rev[i].kind == '=' {
			i++
			continue
		}
		j := i
		for j < len(rev) && rev[j].kind != '=' {
			j++
		}
		slices.SortStableFunc(rev[i:j], func(p, q op) int { return rank(p) - rank(q) })
		i = j
	}
	return rev
}

// unified formats ops as unified diff hunks.
func unified(a, b []string, ops []op) string {
	var out strings.Builder
	for i, prevEnd := 0, 0; i < len(ops); {
		for i < len(ops) && ops[i].kind == '=' {
			i++
		}
		if i == len(ops) {
			break
		}
		first := max(i-diffContext, prevEnd)
		end := i
		for {
			for end < len(ops) && ops[end].kind != '=' {
				end++
			}
			j := end
			for j < len(ops) && ops[j].kind == '=' {
				j++
			}
			if j < len(ops) && j-end <= 2*diffContext {
				end = j
				continue
			}
			end = min(end+diffContext, len(ops))
			break
		}
		writeHunk(&out, a, b, ops[first:end])
		i, prevEnd = end, end
	}
	return out.String()
}

func writeHunk(out *strings.Builder, a, b []string, ops []op) {
	var na, nb int
	for _, o := range ops {
		if o.kind != '+' {
			na++
		}
		if o.kind != '-' {
			nb++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(ops[0].a, na), hunkRange(ops[0].b, nb))
	for _, o := range ops {
		var line string
		if o.kind == '-' {
			line = a[o.a]
		} else {
			line = b[o.b]
		}
		out.WriteByte(" -+"[strings.IndexByte("=-+", o.kind)])
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange is a hunk's "start,count" for a side whose lines before the
// hunk number pos: the count is left out when it is 1, and an empty range
// starts at the line before it, as diff -u does.
func hunkRange(pos, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", pos)
	case 1:
		return fmt.Sprintf("%d", pos+1)
	}
	return fmt.Sprintf("%d,%d", pos+1, count)
}
