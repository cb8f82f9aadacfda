package configset

import (
	"context"
	"io"
)

// Runner runs an argv on one host (sshx.Client does), feeding it stdin
// (may be nil), and returns its stdout. A non-zero exit is an error
// carrying stderr. Cancelling ctx stops the command.
type Runner interface {
	Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error)
}
