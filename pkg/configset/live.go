package configset

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/deployctl/deployctl/pkg/sshx"
)

// liveScript prints what is at $1 (following symlinks): "absent" for
// nothing or a dangling link, "dir" for a directory, else "file" and at
// most $2 bytes of it.
const liveScript = `if [ -d "$1" ]; then echo dir; exit 0; fi
if [ ! -e "$1" ]; then echo absent; exit 0; fi
echo file
exec head -c "$2" -- "$1"
`

// Live returns the content of each path as it is on r's host now,
// following symlinks. A path with nothing there (or a dangling link) is
// absent from the map; a directory is an error. At most MaxFileBytes+1
// bytes of a file are read: a longer content means the file is larger
// than any rendered file can be, which Diff reports as too large.
func Live(ctx context.Context, r Runner, paths []string) (map[string][]byte, error) {
	live := make(map[string][]byte, len(paths))
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return nil, fmt.Errorf("live config: path %w", err)
		}
		out, err := r.Run(ctx, nil, sshx.Script(liveScript, p, strconv.Itoa(MaxFileBytes+1))...)
		if err != nil {
			return nil, fmt.Errorf("live config %s: %w", p, err)
		}
		kind, content, _ := bytes.Cut(out, []byte("\n"))
		switch string(kind) {
		case "absent":
		case "dir":
			return nil, fmt.Errorf("live config %s: a directory, not a file", p)
		case "file":
			live[p] = content
		default:
			return nil, fmt.Errorf("live config %s: unexpected output %q", p, out)
		}
	}
	return live, nil
}
