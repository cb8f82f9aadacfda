package gitsrc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// silentServer accepts TCP connections and never writes a byte: a git
// server that hangs before the SSH banner or the HTTP response.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// sshClientEnv gives go-git's default SSH auth what it needs to reach the
// dial: an agent holding one key and a known_hosts file. hostKey is the key
// known_hosts lists for addr.
func sshClientEnv(t *testing.T, addr string, hostKey ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
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
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	t.Setenv("SSH_KNOWN_HOSTS", kh)
}

func newHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openWithin runs Open and fails the test if it has not returned within
// limit: a liveness bound, far above the bound under test.
func openWithin(t *testing.T, ctx context.Context, repo string, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Open(ctx, repo, t.TempDir())
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Open(%s) still running after %s: the fetch is not bounded", repo, limit)
		return nil
	}
}

// sshAliases stands in for ~/.ssh/config, so that an scp-like URL can name
// a test server on a port of its own.
type sshAliases map[string]map[string]string

func (a sshAliases) Get(alias, key string) string { return a[alias][key] }

func TestSSHDialIsBounded(t *testing.T) {
	addr := silentServer(t)
	host, port, _ := net.SplitHostPort(addr)
	sshClientEnv(t, addr, newHostKey(t).PublicKey())

	oldTimeout, oldConfig := DialTimeout, gitssh.DefaultSSHConfig
	DialTimeout = 300 * time.Millisecond
	gitssh.DefaultSSHConfig = sshAliases{"hung-git": {"Hostname": host, "Port": port}}
	t.Cleanup(func() { DialTimeout, gitssh.DefaultSSHConfig = oldTimeout, oldConfig })

	for repo, server := range map[string]string{
		fmt.Sprintf("ssh://git@%s/org/app.git", addr): addr,
		"git@hung-git:org/app.git":                    "hung-git",
	} {
		t.Run(repo, func(t *testing.T) {
			err := openWithin(t, context.Background(), repo, 20*time.Second)
			if err == nil {
				t.Fatal("Open against a server that never answers succeeded")
			}
			if !strings.Contains(err.Error(), "no session within") || !strings.Contains(err.Error(), "ssh to "+server+":") {
				t.Errorf("error %q does not say which server did not answer", err)
			}
		})
	}
}

func TestSSHHostKeyIsVerified(t *testing.T) {
	serverKey := newHostKey(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(serverKey)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _, _, _ = ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	addr := ln.Addr().String()
	// known_hosts lists another key for this server.
	sshClientEnv(t, addr, newHostKey(t).PublicKey())

	err = openWithin(t, context.Background(), fmt.Sprintf("ssh://git@%s/org/app.git", addr), 20*time.Second)
	if err == nil {
		t.Fatal("Open trusted a server whose host key known_hosts does not list")
	}
	if !strings.Contains(err.Error(), "knownhosts") {
		t.Errorf("error %q does not come from the known_hosts check", err)
	}
}

func TestHTTPFetchIsBounded(t *testing.T) {
	addr := silentServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := openWithin(t, ctx, "http://"+addr+"/org/app.git", 20*time.Second)
	if err == nil {
		t.Fatal("Open against a server that never answers succeeded")
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error %q does not say the fetch ran out of time", err)
	}
}
