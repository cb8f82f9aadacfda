package release

import (
	"context"
	"io"
)

// Runner runs an argv on one host (see sshx.Client and sshx.Local). Run
// returns stdout; Stream sends it to w as it comes, for output that may be
// large. A non-zero exit is an error carrying the exit status.
type Runner interface {
	Host() string
	Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error)
	Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error
}

// Archive writes the tar stream of one rev to w, as pkg/gitsrc does: file
// modes and symlinks preserved, paths relative to the release root.
type Archive func(ctx context.Context, w io.Writer) error
