package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// commandProbe runs an argv on the host; exit status 0 passes.
type commandProbe struct{ d Spec }

func (p commandProbe) run(ctx context.Context, e env) (outcome, error) {
	if e.t.Runner == nil {
		return outcome{}, ErrNoRunner
	}
	argv, err := hosttmpl.ExpandAll(p.d.Argv, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("argv: %w", err)
	}
	shown := strings.Join(argv, " ")
	out, err := e.t.Runner.Run(ctx, nil, argv...)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{}, fmt.Errorf("%s: %w (%v)", shown, ctx.Err(), err)
		}
		msg := fmt.Sprintf("%s: %v", shown, err)
		if o := tailText(out, outputTail); o != "" {
			msg += "; output: " + o
		}
		return outcome{}, fmt.Errorf("%w: %s", ErrFailed, msg)
	}
	ev := shown + ": exit 0"
	if o := tailText(out, outputTail); o != "" {
		ev += "; output: " + o
	}
	return outcome{evidence: ev}, nil
}
