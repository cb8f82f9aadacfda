package sshx

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a server whose host key known_hosts does not vouch for.
// It wraps ErrUnknownHostKey, ErrHostKeyChanged or ErrHostKeyRevoked.
type HostKeyError struct {
	Host        string   // inventory name (or jump host alias)
	Address     string   // host:port as looked up in known_hosts
	KeyType     string   // type of the key the server offered
	Fingerprint string   // SHA256:... of the key the server offered
	Known       []string // for a changed key: "SHA256:... (file:line)" of each key on record
	Files       []string // the known_hosts files consulted
	Err         error
}

// Error names the host, its address and the fingerprints involved.
func (e *HostKeyError) Error() string {
	where := fmt.Sprintf("host %s (%s)", e.Host, e.Address)
	offered := e.KeyType + " " + e.Fingerprint
	switch {
	case errors.Is(e.Err, ErrHostKeyChanged):
		return fmt.Sprintf("%s: %v: server offered %s but known_hosts has %s; refusing to connect (possible man-in-the-middle; if the host was reinstalled, remove the old line)",
			where, e.Err, offered, strings.Join(e.Known, ", "))
	case errors.Is(e.Err, ErrHostKeyRevoked):
		return fmt.Sprintf("%s: %v: %s is marked @revoked in %s; refusing to connect", where, e.Err, offered, strings.Join(e.Files, ", "))
	}
	return fmt.Sprintf("%s: %v %s: not in %s; check the fingerprint out of band and add it (ssh-keyscan), or set ssh.accept_new",
		where, e.Err, offered, strings.Join(e.Files, ", "))
}

// Unwrap returns the sentinel (ErrUnknownHostKey, ErrHostKeyChanged or
// ErrHostKeyRevoked).
func (e *HostKeyError) Unwrap() error { return e.Err }

// knownHostsMu serialises accept-new appends within this process.
var knownHostsMu sync.Mutex

// hostKeys verifies server keys against known_hosts files. There is no
// way to turn verification off; acceptNew only adds keys for hosts that
// have none on record.
type hostKeys struct {
	files     []string // the first is where accept-new appends
	acceptNew bool
}

func newHostKeys(cfg Config) hostKeys {
	files := make([]string, len(cfg.KnownHosts))
	for i, f := range cfg.KnownHosts {
		files[i] = expandTilde(f)
	}
	return hostKeys{files: files, acceptNew: cfg.AcceptNew}
}

// db loads the known_hosts files that exist (a missing file has no keys).
func (h hostKeys) db() (ssh.HostKeyCallback, error) {
	var existing []string
	for _, f := range h.files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	if len(existing) == 0 {
		return func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }, nil
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	return cb, nil
}

// callback checks the key of ep's server, named in messages as ep.name.
func (h hostKeys) callback(ep endpoint) ssh.HostKeyCallback {
	return func(hostport string, remote net.Addr, key ssh.PublicKey) error {
		cb, err := h.db()
		if err != nil {
			return err
		}
		err = cb(hostport, remote, key)
		if err == nil {
			return nil
		}
		herr := &HostKeyError{
			Host: ep.name, Address: hostport, KeyType: key.Type(),
			Fingerprint: ssh.FingerprintSHA256(key), Files: h.files,
		}
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &revoked):
			herr.Err = ErrHostKeyRevoked
		case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
			herr.Err = ErrHostKeyChanged
			for _, w := range keyErr.Want {
				herr.Known = append(herr.Known, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
			}
		case errors.As(err, &keyErr):
			herr.Err = ErrUnknownHostKey
			if h.acceptNew {
				return h.add(ep, hostport, key)
			}
		default:
			return fmt.Errorf("host %s (%s): check host key: %w", ep.name, hostport, err)
		}
		return herr
	}
}

// add records key for hostport in the first known_hosts file (OpenSSH's
// accept-new). It checks again under the lock, so parallel dials to one
// host write one line, and a key another dial recorded meanwhile is
// compared, not blindly added.
func (h hostKeys) add(ep endpoint, hostport string, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	cb, err := h.db()
	if err != nil {
		return err
	}
	var keyErr *knownhosts.KeyError
	if err := cb(hostport, &net.TCPAddr{}, key); err == nil {
		return nil
	} else if !errors.As(err, &keyErr) || len(keyErr.Want) > 0 {
		return h.callbackNoAdd(ep)(hostport, &net.TCPAddr{}, key)
	}
	file := h.files[0]
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("accept new host key: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("accept new host key: %w", err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostport)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("accept new host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("accept new host key: %w", err)
	}
	slog.Warn("accepted new host key", "host", ep.name, "address", hostport,
		"type", key.Type(), "fingerprint", ssh.FingerprintSHA256(key), "file", file)
	return nil
}

// callbackNoAdd is callback without accept-new.
func (h hostKeys) callbackNoAdd(ep endpoint) ssh.HostKeyCallback {
	h.acceptNew = false
	return h.callback(ep)
}

// probeKey is a key no server has; offering it to known_hosts lists the
// keys on record for a host.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// algorithms returns the host key algorithms to ask for, so that a server
// with several host keys presents one that is on record (what OpenSSH
// does); nil when none is, leaving x/crypto's defaults.
func (h hostKeys) algorithms(hostport string) []string {
	cb, err := h.db()
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if !errors.As(cb(hostport, &net.TCPAddr{}, probeKey), &keyErr) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range keyErr.Want {
		names := []string{w.Key.Type()}
		if w.Key.Type() == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}
