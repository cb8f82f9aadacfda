package sshx

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth is what one handshake offers: agent keys and identity files.
type auth struct {
	signers   []ssh.Signer
	agentConn net.Conn // open during the handshake only
	agentKeys int
	files     []string // identity files that gave a key
	encrypted []string // identity files skipped for want of a passphrase
	// asked is set once the handshake reached public-key authentication,
	// so a failure after it is the server refusing our keys (x/crypto/ssh
	// has no typed error for that).
	asked atomic.Bool
}

// newAuth collects the keys for ep: the identity files that can be read
// without a passphrase first, then the agent's keys. An encrypted file is
// usable only through the agent (deployctl never prompts); when nothing
// else is left it is an ErrEncryptedKey naming the file.
func newAuth(ep endpoint, timeout time.Duration) (*auth, error) {
	a := &auth{}
	seen := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			a.signers = append(a.signers, s)
		}
	}
	for _, f := range ep.identities {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			slog.Debug("identity file missing", "host", ep.name, "file", f)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("identity file: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			a.encrypted = append(a.encrypted, f)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		a.files = append(a.files, f)
		add(s)
	}
	agentErr := a.dialAgent(timeout, add)
	if len(a.signers) > 0 {
		return a, nil
	}
	a.close()
	switch {
	case len(a.encrypted) > 0 && agentErr != nil:
		return nil, fmt.Errorf("%w: %s (%v); load it with ssh-add or use an unencrypted deploy key",
			ErrEncryptedKey, strings.Join(a.encrypted, ", "), agentErr)
	case len(a.encrypted) > 0:
		return nil, fmt.Errorf("%w: %s (the agent holds no keys); load it with ssh-add or use an unencrypted deploy key",
			ErrEncryptedKey, strings.Join(a.encrypted, ", "))
	case agentErr != nil:
		return nil, fmt.Errorf("%w (tried %s; %v)", ErrNoAuth, triedFiles(ep.identities), agentErr)
	}
	return nil, fmt.Errorf("%w (tried %s; the agent holds no keys)", ErrNoAuth, triedFiles(ep.identities))
}

// dialAgent adds the agent's keys; its error says why there are none.
func (a *auth) dialAgent(timeout time.Duration, add func(ssh.Signer)) error {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return errors.New("SSH_AUTH_SOCK is not set")
	}
	conn, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return fmt.Errorf("ssh-agent: %w", err)
	}
	// The agent answers local requests at once; a deadline keeps a wedged
	// agent from stalling the handshake.
	_ = conn.SetDeadline(time.Now().Add(timeout))
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return fmt.Errorf("ssh-agent: %w", err)
	}
	if len(signers) == 0 {
		conn.Close()
		return errors.New("ssh-agent holds no keys")
	}
	a.agentConn = conn
	a.agentKeys = len(signers)
	for _, s := range signers {
		add(s)
	}
	return nil
}

func (a *auth) methods() []ssh.AuthMethod {
	return []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		a.asked.Store(true)
		return a.signers, nil
	})}
}

// describe says what was offered, for an authentication failure.
func (a *auth) describe() string {
	var parts []string
	if len(a.files) > 0 {
		parts = append(parts, "identity files "+strings.Join(a.files, ", "))
	}
	if a.agentKeys > 0 {
		parts = append(parts, fmt.Sprintf("%d agent keys", a.agentKeys))
	}
	s := "offered " + strings.Join(parts, " and ")
	if len(a.encrypted) > 0 {
		s += "; skipped encrypted " + strings.Join(a.encrypted, ", ") + " (not in the agent?)"
	}
	return s
}

func (a *auth) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
		a.agentConn = nil
	}
}

func triedFiles(files []string) string {
	if len(files) == 0 {
		return "no identity files"
	}
	return strings.Join(files, ", ")
}
