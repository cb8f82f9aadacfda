package gitsrc

import "fmt"

// RevLen is the length of a full rev: the hex digits of a SHA-1 commit hash.
const RevLen = 40

// ShortLen is how many hex digits of a rev messages show.
const ShortLen = 12

// Rev is a pinned commit: its full SHA-1 hash as 40 lowercase hex digits,
// the form Resolve returns, state files record and release directories are
// named by. It is a string so that it reads, writes and compares (JSON,
// YAML, map keys, paths) exactly as the plain strings it stands for. A Rev
// from ParseRev is always valid; the zero Rev is "no rev".
type Rev string

// ParseRev returns the Rev that s spells. s must be a full commit hash:
// exactly 40 hex digits, lowercase, nothing around them. The error says
// what is wrong: the length, an uppercase digit or a byte that is not hex.
func ParseRev(s string) (Rev, error) {
	if len(s) != RevLen {
		return "", fmt.Errorf("rev %q: %d characters, want a full commit hash of %d hex digits", s, len(s), RevLen)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isLowerHexDigit(c):
		case 'A' <= c && c <= 'F':
			return "", fmt.Errorf("rev %q: uppercase hex digit %q at offset %d, want lowercase", s, s[i:i+1], i)
		default:
			return "", fmt.Errorf("rev %q: %q at offset %d is not a hex digit", s, s[i:i+1], i)
		}
	}
	return Rev(s), nil
}

// String returns the full hash.
func (r Rev) String() string { return string(r) }

// Short returns the first 12 hex digits, the abbreviation messages show.
func (r Rev) Short() string { return Short(string(r)) }

// IsZero reports whether r is the zero Rev, no rev at all.
func (r Rev) IsZero() bool { return r == "" }

// Short abbreviates rev for a message: its first 12 bytes when it is
// longer, else rev unchanged. It takes any string (a rev read from a state
// file or a host, a ref, "none") and never fails, so a message can always
// show what it was given.
func Short(rev string) string {
	if len(rev) > ShortLen {
		return rev[:ShortLen]
	}
	return rev
}

// isLowerHex reports whether s is made only of lowercase hex digits.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLowerHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}
