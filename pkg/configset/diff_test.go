package configset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func numbered(n int, change map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if s, ok := change[i]; ok {
			b.WriteString(s)
			continue
		}
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

func TestDiff(t *testing.T) {
	const head = "--- p (live)\n+++ p (rendered)\n"
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{name: "equal", old: "a\nb\n", new: "a\nb\n", want: ""},
		{name: "both empty", want: ""},
		{name: "new file", old: "", new: "a\nb\n", want: head + "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{name: "file emptied", old: "a\n", new: "", want: head + "@@ -1 +0,0 @@\n-a\n"},
		{
			name: "changed line in the middle",
			old:  numbered(10, nil),
			new:  numbered(10, map[int]string{5: "five\n"}),
			want: head + "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{name: "added line", old: "1\n2\n3\n4\n5\n", new: "1\n2\nnew\n3\n4\n5\n", want: head + "@@ -1,5 +1,6 @@\n 1\n 2\n+new\n 3\n 4\n 5\n"},
		{name: "removed line", old: "1\n2\n3\n4\n5\n", new: "1\n2\n4\n5\n", want: head + "@@ -1,5 +1,4 @@\n 1\n 2\n-3\n 4\n 5\n"},
		{
			name: "no newline at end on either side",
			old:  "a\nb", new: "a\nc",
			want: head + "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
		},
		{name: "newline added at end", old: "a", new: "a\n", want: head + "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n"},
		{
			name: "far apart changes make two hunks",
			old:  numbered(20, nil),
			new:  numbered(20, map[int]string{2: "TWO\n", 18: "EIGHTEEN\n"}),
			want: head + "@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n" +
				"@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+EIGHTEEN\n 19\n 20\n",
		},
		{
			name: "changes six lines apart share a hunk",
			old:  numbered(12, nil),
			new:  numbered(12, map[int]string{3: "THREE\n", 10: "TEN\n"}),
			want: head + "@@ -1,12 +1,12 @@\n 1\n 2\n-3\n+THREE\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+TEN\n 11\n 12\n",
		},
		{name: "everything replaced, deletions first", old: "a\nb\nc\n", new: "x\ny\n", want: head + "@@ -1,3 +1,2 @@\n-a\n-b\n-c\n+x\n+y\n"},
		{name: "binary", old: "a\x00", new: "b", want: head + "binary files differ\n"},
		{
			name: "too large",
			old:  strings.Repeat("x", MaxDiffBytes+1), new: "",
			want: head + fmt.Sprintf("files too large to diff (live %d bytes, rendered 0 bytes; at most %d each)\n", MaxDiffBytes+1, MaxDiffBytes),
		},
		{
			name: "too many changes",
			old:  numbered(MaxDiffEdits, nil), new: strings.Repeat("y\n", MaxDiffEdits),
			want: head + fmt.Sprintf("files too large to diff (more than %d changed lines)\n", MaxDiffEdits),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff("p", []byte(tt.old), []byte(tt.new))
			if got != tt.want {
				t.Errorf("Diff:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestDiffRandom checks, on random inputs, that each diff applied to old
// gives new and that it changes no more lines than a longest common
// subsequence requires.
func TestDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(strconv.Itoa(rng.IntN(5)) + "\n")
		}
		if rng.IntN(4) == 0 {
			b.WriteString("end") // no final newline
		}
		return b.String()
	}
	for i := range 2000 {
		old, new := gen(), gen()
		d := Diff("p", []byte(old), []byte(new))
		if old == new {
			if d != "" {
				t.Fatalf("case %d: equal inputs gave a diff:\n%s", i, d)
			}
			continue
		}
		got, changed, err := applyDiff(old, d)
		if err != nil {
			t.Fatalf("case %d: %v\nold %q\nnew %q\ndiff:\n%s", i, err, old, new, d)
		}
		if got != new {
			t.Fatalf("case %d: applied diff gives %q, want %q\ndiff:\n%s", i, got, new, d)
		}
		a, b := splitLines([]byte(old)), splitLines([]byte(new))
		if want := len(a) + len(b) - 2*lcs(a, b); changed != want {
			t.Fatalf("case %d: %d lines changed, a shortest script changes %d\ndiff:\n%s", i, changed, want, d)
		}
	}
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// applyDiff applies a unified diff as patch would, strictly: context and
// deleted lines must match old, and hunk headers must match their lines.
// It returns the result and the number of lines removed or added.
func applyDiff(old, diff string) (string, int, error) {
	a := splitLines([]byte(old))
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return "", 0, fmt.Errorf("bad header")
	}
	lines = lines[2:]
	var out strings.Builder
	pos, changed := 0, 0
	for len(lines) > 0 {
		var as, ac, bs, bc int
		h := lines[0]
		if _, err := fmt.Sscanf(hunkSpec(h), "%d %d %d %d", &as, &ac, &bs, &bc); err != nil {
			return "", 0, fmt.Errorf("hunk header %q: %v", h, err)
		}
		lines = lines[1:]
		start := as - 1
		if ac == 0 {
			start = as
		}
		if start < pos {
			return "", 0, fmt.Errorf("hunk %q overlaps the previous one", h)
		}
		for ; pos < start; pos++ {
			out.WriteString(a[pos])
		}
		var gotA, gotB int
		for len(lines) > 0 && !strings.HasPrefix(lines[0], "@@") {
			l := lines[0]
			lines = lines[1:]
			text := l[1:] + "\n"
			if len(lines) > 0 && lines[0] == `\ No newline at end of file` {
				text = l[1:]
				lines = lines[1:]
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(a) || a[pos] != text {
					return "", 0, fmt.Errorf("line %d: %q does not match %q", pos+1, l, a[min(pos, len(a)-1)])
				}
				pos++
				gotA++
				if l[0] == ' ' {
					out.WriteString(text)
					gotB++
				} else {
					changed++
				}
			case '+':
				out.WriteString(text)
				gotB++
				changed++
			default:
				return "", 0, fmt.Errorf("bad line %q", l)
			}
		}
		if gotA != ac || gotB != bc {
			return "", 0, fmt.Errorf("hunk %q has %d old and %d new lines", h, gotA, gotB)
		}
	}
	for ; pos < len(a); pos++ {
		out.WriteString(a[pos])
	}
	return out.String(), changed, nil
}

// hunkSpec turns "@@ -3,2 +4 @@" into "3 2 4 1".
func hunkSpec(h string) string {
	f := strings.Fields(h)
	if len(f) != 4 || f[0] != "@@" || f[3] != "@@" {
		return ""
	}
	side := func(s string) string {
		start, count, ok := strings.Cut(s[1:], ",")
		if !ok {
			count = "1"
		}
		return start + " " + count
	}
	return side(f[1]) + " " + side(f[2])
}

func BenchmarkDiff(b *testing.B) {
	old := []byte(numbered(5000, nil))
	new := []byte(numbered(5000, map[int]string{10: "x\n", 2500: "y\n", 4990: "z\n"}))
	for b.Loop() {
		Diff("p", old, new)
	}
}
