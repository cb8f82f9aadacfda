package checks

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// Runner runs commands on one host. *sshx.Client satisfies it; tests use a
// local os/exec runner.
type Runner interface {
	// Run runs argv on the host, feeding stdin (may be nil); returns stdout. A non-zero exit
	// is an error (sshx.ExitError with Code and a stderr tail). Cancelling ctx stops the remote process.
	Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error)
}

// Target is one host as the checks see it.
type Target struct {
	Host    string        // inventory name: {host}, and the host label in relative metric queries
	Address string        // where the host is reached: {address}
	Port    int           // the service port: {port}, and the port check's default
	Vars    hosttmpl.Vars // inventory vars; host, address, port and others are set from the fields above
	Runner  Runner        // commands on the host (used concurrently); needed by command, log, journald and port from host
	Peers   []string      // the other hosts of the same pool, for relative metrics: {others}
}

// vars returns the placeholder values for t: the inventory vars, then
// deployctl's own names, which win.
func (t Target) vars() hosttmpl.Vars {
	return t.Vars.With(
		"host", t.Host,
		"address", t.address(),
		"port", strconv.Itoa(t.Port),
		"others", promAlternation(t.Peers),
	)
}

func (t Target) address() string {
	if t.Address != "" {
		return t.Address
	}
	return t.Host
}

// promAlternation joins names into a regex alternation for a PromQL =~
// matcher: each name is quoted as a regex, and the backslashes are escaped
// for a double-quoted PromQL string.
func promAlternation(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(n), `\`, `\\`)
	}
	return strings.Join(quoted, "|")
}
