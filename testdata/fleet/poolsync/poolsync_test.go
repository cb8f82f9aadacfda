package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func intp(i int) *int { return &i }

func TestParsePoolValue(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    poolValue
		wantErr bool
	}{
		{name: "yes with weight", in: `{"pooled":"yes","weight":10}`, want: poolValue{Pooled: "yes", Weight: intp(10)}},
		{name: "no", in: `{"pooled":"no","weight":10}`, want: poolValue{Pooled: "no", Weight: intp(10)}},
		{name: "inactive without weight", in: `{"pooled":"inactive"}`, want: poolValue{Pooled: "inactive"}},
		{name: "bad pooled", in: `{"pooled":"maybe"}`, wantErr: true},
		{name: "bad weight", in: `{"pooled":"yes","weight":300}`, wantErr: true},
		{name: "not json", in: `yes`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePoolValue([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name  string
		value *poolValue
		want  []string
	}{
		{name: "yes", value: &poolValue{Pooled: "yes", Weight: intp(10)},
			want: []string{"set weight be/h1 10", "set server be/h1 state ready"}},
		{name: "yes without weight", value: &poolValue{Pooled: "yes"}, want: []string{"set server be/h1 state ready"}},
		{name: "no", value: &poolValue{Pooled: "no", Weight: intp(10)}, want: []string{"set server be/h1 state drain"}},
		{name: "inactive", value: &poolValue{Pooled: "inactive"}, want: []string{"set server be/h1 state maint"}},
		{name: "deleted", value: nil, want: []string{"set server be/h1 state maint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commands("be", "h1", tt.value); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	ok := []string{"--etcd", "http://127.0.0.1:1", "--prefix", "/p", "--backend", "b", "--haproxy", "tcp://127.0.0.1:2"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: ok},
		{name: "unix socket", args: append(ok[:6:6], "--haproxy", "unix:///run/h.sock")},
		{name: "missing everything", args: nil, wantErr: "--etcd is required"},
		{name: "bad haproxy", args: append(ok[:6:6], "--haproxy", "127.0.0.1:2"), wantErr: "--haproxy"},
		{name: "zero timeout", args: append(ok, "--timeout", "0s"), wantErr: "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(o.prefix, "/") {
					t.Errorf("prefix %q lacks the trailing slash", o.prefix)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// fakeHAProxy answers runtime API commands on a unix socket like HAProxy's
// non-interactive mode: one command, one answer, close.
type fakeHAProxy struct {
	mu   sync.Mutex
	cmds []string
}

func (f *fakeHAProxy) serve(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			n, _ := c.Read(buf)
			cmd := strings.TrimSpace(string(buf[:n]))
			f.mu.Lock()
			f.cmds = append(f.cmds, cmd)
			f.mu.Unlock()
			if strings.Contains(cmd, "/nosuch ") {
				c.Write([]byte("No such server.\n\n"))
			} else {
				c.Write([]byte("\n"))
			}
			c.Close()
		}
	}()
	return "unix://" + path
}

func (f *fakeHAProxy) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func TestRuntimeAPICommand(t *testing.T) {
	var f fakeHAProxy
	api, err := newRuntimeAPI(f.serve(t), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     string
		want    string
		wantErr bool
	}{
		{name: "ok", cmd: "set server be/h1 state drain", want: ""},
		{name: "error answer", cmd: "set server be/nosuch state drain", want: "No such server."},
		{name: "two commands refused", cmd: "show stat; show info", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := api.Command(context.Background(), tt.cmd)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("answer = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRuntimeAPIUnreachable(t *testing.T) {
	api, err := newRuntimeAPI("unix://"+filepath.Join(t.TempDir(), "absent.sock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Command(context.Background(), "show info"); err == nil {
		t.Fatal("no error from an absent socket")
	}
}

// fakeKV serves a fixed Get answer.
type fakeKV struct {
	kvs []*mvccpb.KeyValue
	err error
}

func (f fakeKV) Get(context.Context, string, ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &clientv3.GetResponse{Header: &etcdserverpb.ResponseHeader{Revision: 42}, Kvs: f.kvs}, nil
}

func TestResyncAll(t *testing.T) {
	const prefix = "/conftool/v1/pools/dc1/appserver/exampleapp/"
	kvs := []*mvccpb.KeyValue{
		{Key: []byte(prefix + "host1"), Value: []byte(`{"pooled":"yes","weight":10}`)},
		{Key: []byte(prefix + "host2"), Value: []byte(`{"pooled":"no","weight":10}`)},
		{Key: []byte(prefix + "host3"), Value: []byte(`{"pooled":"inactive","weight":10}`)},
		{Key: []byte(prefix + "bad"), Value: []byte(`garbage`)},
		{Key: []byte(prefix + "nosuch"), Value: []byte(`{"pooled":"no"}`)},
		{Key: []byte(prefix + "a/b"), Value: []byte(`{"pooled":"no"}`)},
	}
	tests := []struct {
		name    string
		kv      fakeKV
		want    []string
		wantRev int64
		wantErr bool
	}{
		{name: "applies every good key", kv: fakeKV{kvs: kvs}, wantRev: 42, want: []string{
			"set weight exampleapp/host1 10",
			"set server exampleapp/host1 state ready",
			"set server exampleapp/host2 state drain",
			"set server exampleapp/host3 state maint",
			"set server exampleapp/nosuch state drain",
		}},
		{name: "etcd down", kv: fakeKV{err: errors.New("context deadline exceeded")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeHAProxy
			api, err := newRuntimeAPI(f.serve(t), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			s := &syncer{kv: tt.kv, lb: api, prefix: prefix, backend: "exampleapp",
				timeout: time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil)), applied: map[string]string{}}
			rev, err := s.resyncAll(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if rev != tt.wantRev {
				t.Errorf("rev = %d, want %d", rev, tt.wantRev)
			}
			if got := f.commands(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands:\n got %q\nwant %q", got, tt.want)
			}
			if _, ok := s.applied["nosuch"]; ok {
				t.Error("a refused command is recorded as applied")
			}
		})
	}
}
