package sshx_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
	"github.com/deployctl/deployctl/pkg/sshx/sshdtest"
)

// TestCommandShell runs short commands (Run without stdin), which go to
// the Client's command shell, and checks that each one's output, status
// and stderr are cut exactly and that no command upsets the shell for the
// next: every case is followed by a probe command on the same shell.
func TestCommandShell(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	cfg := fleetConfig(t, f)
	cfg.MaxOutput = 64 << 10
	c := dial(t, cfg, target(f.Servers[0]))
	ctx := context.Background()

	// The servers share this machine's filesystem: a local file is a
	// remote one too.
	binary := make([]byte, 48<<10)
	rand.Read(binary)
	for i := 0; i < len(binary); i += 97 {
		binary[i] = '\n' // many lines, some empty, some starting with \r or NUL
	}
	binFile := filepath.Join(t.TempDir(), "binary")
	if err := os.WriteFile(binFile, binary, 0o600); err != nil {
		t.Fatal(err)
	}
	fakeMarker := "\ndeployctl-end-00112233445566778899aabbccddeeff 0\n"

	exitErr := func(code int, signal, stderr string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			t.Helper()
			var xe *sshx.ExitError
			if !errors.As(err, &xe) || xe.Code != code || xe.Signal != signal {
				t.Fatalf("err = %v, want ExitError code %d signal %q", err, code, signal)
			}
			if stderr != "*" && string(xe.Stderr) != stderr {
				t.Fatalf("stderr = %q, want %q", xe.Stderr, stderr)
			}
		}
	}
	tests := []struct {
		name    string
		argv    []string
		want    string
		wantErr func(*testing.T, error)
	}{
		{name: "no trailing newline", argv: []string{"printf", "abc"}, want: "abc"},
		{name: "no output", argv: []string{"true"}, want: ""},
		{name: "only newlines", argv: []string{"printf", `\n\n`}, want: "\n\n"},
		{name: "binary output", argv: []string{"cat", binFile}, want: string(binary)},
		{name: "nonce-like text in output and stderr", argv: []string{"sh", "-c", `printf '%s' "$1"; printf '%s' "$1" >&2; exit 1`, "sh", fakeMarker},
			want: fakeMarker, wantErr: exitErr(1, "", fakeMarker)},
		{name: "stderr without newline and exit code", argv: []string{"sh", "-c", "printf out; printf err >&2; exit 7"},
			want: "out", wantErr: exitErr(7, "", "err")},
		{name: "stderr tail bounded", argv: []string{"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' e >&2; echo end >&2; exit 1"},
			wantErr: func(t *testing.T, err error) {
				var xe *sshx.ExitError
				if !errors.As(err, &xe) || len(xe.Stderr) != sshx.StderrTail || !bytes.HasSuffix(xe.Stderr, []byte("eeeend\n")) {
					t.Fatalf("err = %v, want the last %d bytes of stderr", err, sshx.StderrTail)
				}
			}},
		{name: "killed by signal", argv: []string{"sh", "-c", "kill -KILL $$"}, wantErr: exitErr(-1, "KILL", "")},
		{name: "exit in a script", argv: []string{"sh", "-c", "exit 3"}, wantErr: exitErr(3, "", "")},
		{name: "exit is not a program", argv: []string{"exit", "3"}, wantErr: exitErr(127, "", "*")},
		{name: "cd is not a program", argv: []string{"cd", "/"}, wantErr: exitErr(127, "", "*")},
		{name: "cd in a script", argv: []string{"sh", "-c", "cd / && pwd"}, want: "/\n"},
		{name: "reads no stdin", argv: []string{"cat"}, want: ""},
		{name: "output capped", argv: []string{"head", "-c", "500000", "/dev/zero"}, want: string(make([]byte, 64<<10)),
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, sshx.ErrOutputTooLarge) {
					t.Fatalf("err = %v, want ErrOutputTooLarge", err)
				}
			}},
	}
	home, err := c.Run(ctx, nil, "pwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Run(ctx, nil, tt.argv...)
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("stdout = %q (%d bytes), want %d bytes", shorten(out), len(out), len(tt.want))
			}
			// The next command sees the shell as it was.
			if out, err := c.Run(ctx, nil, "pwd"); err != nil || string(out) != string(home) {
				t.Fatalf("next command: %q, %v; want %q", out, err, home)
			}
		})
	}
	if st := c.Stats(); st.Dials != 1 || st.Shells != 1 {
		t.Fatalf("stats %+v: want every command on one shell", st)
	}
}

func shorten(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// TestCommandShellConcurrent runs many commands at once on one Client:
// each gets its own output, and the shells stay bounded.
func TestCommandShellConcurrent(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	c := dial(t, fleetConfig(t, f), target(f.Servers[0]))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 20*10)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				want := fmt.Sprintf("%d-%d", g, i)
				out, err := c.Run(ctx, nil, "sh", "-c", `printf %s "$1"; printf x >&2; exit "$2"`, "sh", want, fmt.Sprint(i%2))
				var xe *sshx.ExitError
				switch {
				case i%2 == 1 && (!errors.As(err, &xe) || xe.Code != 1 || string(xe.Stderr) != "x"):
					errs <- fmt.Errorf("%s: err = %v, want exit 1 with stderr x", want, err)
				case i%2 == 0 && err != nil:
					errs <- fmt.Errorf("%s: %w", want, err)
				case string(out) != want:
					errs <- fmt.Errorf("got %q, want %q", out, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := c.Stats()
	if st.Dials != 1 || st.Shells < 1 || st.Shells > 4 || st.Sessions != 200 {
		t.Fatalf("stats %+v: want 1 dial, 1 to 4 shells, 200 commands", st)
	}
}

// TestCommandShellCancel stops a command mid-run: its process is gone,
// the shell it ran on is replaced, and the next command works on the
// same connection.
func TestCommandShellCancel(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	cfg := fleetConfig(t, f)
	cfg.CommandTimeout = 500 * time.Millisecond
	c := dial(t, cfg, target(f.Servers[0]))
	if _, err := c.Run(context.Background(), nil, "true"); err != nil {
		t.Fatal(err)
	}

	sleep := uniqueSleep(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, nil, "sleep", sleep)
		errc <- err
	}()
	waitRunning(t, "sleep "+sleep)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	waitGone(t, "sleep "+sleep)

	sleep = uniqueSleep(t)
	if _, err := c.Run(context.Background(), nil, "sleep", sleep); !errors.Is(err, sshx.ErrCommandTimeout) {
		t.Fatalf("err = %v, want ErrCommandTimeout", err)
	}
	waitGone(t, "sleep "+sleep)

	if out, err := c.Run(context.Background(), nil, "echo", "next"); err != nil || string(out) != "next\n" {
		t.Fatalf("after cancel: %q, %v", out, err)
	}
	if st := c.Stats(); st.Dials != 1 || st.Shells != 3 {
		t.Fatalf("stats %+v: want 1 dial, and a new shell after each stopped command", st)
	}
}

// TestCommandShellRedial drops the connection while the shell is idle:
// the next command is not lost with it but runs on a re-dialled
// connection.
func TestCommandShellRedial(t *testing.T) {
	f := sshdtest.StartFleet(t, 1)
	s := f.Servers[0]
	proxy := sshdtest.NewProxy(t, "127.0.1.1", s.Addr())
	cfg := fleetConfig(t, f)
	known := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s", proxy.IP, proxy.Port, s.HostKey.PublicKey)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHosts = sshx.Paths{known}
	c := dial(t, cfg, sshx.Target{Name: "h1", Address: proxy.IP, Port: proxy.Port})
	ctx := context.Background()
	for i := range 3 {
		if out, err := c.Run(ctx, nil, "echo", "up"); err != nil || string(out) != "up\n" {
			t.Fatalf("round %d: %q, %v", i, out, err)
		}
		proxy.DropAll()
	}
	if st := c.Stats(); st.Dials != 3 || st.Shells != 3 {
		t.Fatalf("stats %+v: want a dial and a shell per round", st)
	}
	if !strings.Contains(s.LogText(), "Accepted publickey") {
		t.Fatal("sshd log shows no login")
	}
}
