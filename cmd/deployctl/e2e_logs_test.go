package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// The log check reads a fleet host's log over SSH: only what was written
// after the baseline, across a rotation (rename, then a new file) in the
// window.
func TestE2ELogCheckOverSSHFollowsRotation(t *testing.T) {
	x := newE2E(t)
	env := x.loadEnv()
	const log = "/srv/log/rotation-test.log"
	env.Checks = []checks.Spec{{Name: "rotating-log", Type: checks.KindLog, Path: log, Timeout: 10 * time.Second}}
	cs, err := deploy.NewCheckSet(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := sshx.NewPool(env.SSH)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := (&deploy.SSHHosts{Env: env, Pool: pool}).Runner(ctx, "host1")
	if err != nil {
		t.Fatal(err)
	}
	x.f.Run(t, "host1", "sh", "-c", `printf 'INFO started\nERROR old-error-before-the-stop\n' > "$1"`, "sh", log)
	base, err := cs.Prepare(ctx, "host1", r)
	if err != nil {
		t.Fatal(err)
	}
	// The window: an error in the old file, rotation, a fatal in the new one.
	x.f.Run(t, "host1", "sh", "-c", `printf 'ERROR new-error-1\n' >> "$1" && mv "$1" "$1.1" && printf 'INFO reopened\nFATAL new-error-2\n' > "$1"`, "sh", log)
	res := cs.Run(ctx, checks.StageDepooled, "host1", r, base)
	if len(res) != 1 || res[0].Verdict != checks.Fail {
		t.Fatalf("results %+v", res)
	}
	ev := res[0].Evidence + res[0].Err.Error()
	for _, want := range []string{"new-error-1", "new-error-2"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	if strings.Contains(ev, "old-error-before-the-stop") {
		t.Errorf("evidence counts a line from before the baseline:\n%s", ev)
	}
	x.f.Run(t, "host1", "rm", "-f", log, log+".1")
}
