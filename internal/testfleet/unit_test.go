package testfleet

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestShellJoinRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		argv []string
	}{
		{name: "plain", argv: []string{"echo", "a", "b/c", "--x=1"}},
		{name: "spaces", argv: []string{"a b", "  c  "}},
		{name: "quotes", argv: []string{`it's`, `"q"`, `'`}},
		{name: "shell syntax", argv: []string{"$HOME", "`id`", "a;b", "a|b", "*", "~", "{x}"}},
		{name: "empty", argv: []string{"", "x"}},
		{name: "newline", argv: []string{"a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// printf prints each argument on its own line, NUL-terminated.
			script := `printf '%s\0' ` + shellJoin(tt.argv)
			out, err := exec.Command("sh", "-c", script).Output()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if !reflect.DeepEqual(got, tt.argv) {
				t.Fatalf("got %q, want %q", got, tt.argv)
			}
		})
	}
}

func TestParseServerStatus(t *testing.T) {
	stat := "# pxname,svname,qcur,status,weight\n" +
		"fe_exampleapp,FRONTEND,,OPEN,\n" +
		"exampleapp,host1,0,UP,10\n" +
		"exampleapp,host2,0,DRAIN,10\n" +
		"exampleapp,host3,0,MAINT,10\n" +
		"exampleapp,BACKEND,0,UP,20\n" +
		"other,host1,0,DOWN,1\n\n"
	tests := []struct {
		name    string
		stat    string
		backend string
		want    map[string]string
		wantErr bool
	}{
		{name: "servers of the backend", stat: stat, backend: "exampleapp",
			want: map[string]string{"host1": "UP", "host2": "DRAIN", "host3": "MAINT"}},
		{name: "other backend", stat: stat, backend: "other", want: map[string]string{"host1": "DOWN"}},
		{name: "no status column", stat: "# pxname,svname\nexampleapp,host1\n", backend: "exampleapp", wantErr: true},
		{name: "empty", stat: "", backend: "exampleapp", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServerStatus(tt.stat, tt.backend)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{name: "zero", in: Options{}, want: Options{Hosts: DefaultHosts, Dir: DefaultDir, LockFile: DefaultLockFile,
			LockWait: DefaultLockWait, UpTimeout: DefaultUpTimeout, DownTimeout: DefaultDownTimeout, Ports: DefaultPorts}},
		{name: "kept", in: Options{Hosts: 5, Dir: "/x", Ports: Ports{SSH: 22}},
			want: Options{Hosts: 5, Dir: "/x", LockFile: DefaultLockFile, LockWait: DefaultLockWait,
				UpTimeout: DefaultUpTimeout, DownTimeout: DefaultDownTimeout,
				Ports: Ports{SSH: 22, App: DefaultPorts.App, LB: DefaultPorts.LB, LBAPI: DefaultPorts.LBAPI,
					Etcd: DefaultPorts.Etcd, EtcdPeer: DefaultPorts.EtcdPeer, Prometheus: DefaultPorts.Prometheus}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHostPath(t *testing.T) {
	h := Host{SrvDir: "/tmp/f/hosts/host1/srv"}
	tests := []struct {
		name, in, want string
	}{
		{name: "file", in: "/srv/log/app.log", want: "/tmp/f/hosts/host1/srv/log/app.log"},
		{name: "root", in: "/srv", want: "/tmp/f/hosts/host1/srv"},
		{name: "outside", in: "/etc/passwd", want: ""},
		{name: "escape", in: "/srv/../etc", want: ""},
		{name: "prefix only", in: "/srvx/a", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Path(tt.in); got != tt.want {
				t.Fatalf("Path(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAcquireLockWaitIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := acquireLock(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acquireLock(path, 300*time.Millisecond); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second lock: err = %v, want ErrLockTimeout", err)
	}
	if err := held.release(); err != nil {
		t.Fatal(err)
	}
	again, err := acquireLock(path, time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.release()
}

func TestLivePIDs(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etcd.pid", "999999999\n")                                           // gone
	write("hosts/host1/sshd.pid", "garbage")                                   // not a pid
	write("hosts/host1/srv/run/exampleapp.pid", strconv.Itoa(cmd.Process.Pid)) // alive

	live, err := livePIDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[cmd.Process.Pid] == "" {
		t.Fatalf("live = %v, want only %d", live, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if processAlive(cmd.Process.Pid) {
		t.Fatal("a reaped process counts as alive")
	}
}
