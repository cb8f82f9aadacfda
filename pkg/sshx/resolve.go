package sshx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// maxJumpDepth bounds ProxyJump chains, including a jump host's own
// ProxyJump, so a loop in ssh_config ends with an error.
const maxJumpDepth = 8

// Target names one host to dial.
type Target struct {
	Name    string // inventory name: the alias looked up in ssh_config, and the name in messages
	Address string // host name or IP to connect to; empty: ssh_config HostName, then Name
	Port    int    // 0: Config.Port, then ssh_config Port, then 22
}

// endpoint is one fully resolved SSH server to connect to.
type endpoint struct {
	name       string   // for messages
	host       string   // address to connect to
	port       int      //
	user       string   //
	identities []string // identity files to offer, in order
	jumps      []string // ProxyJump hops, as written
}

func (e endpoint) hostPort() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// String names the endpoint in messages: "h1 (deploy@127.0.1.1:22)".
func (e endpoint) String() string {
	return fmt.Sprintf("%s (%s@%s)", e.name, e.user, e.hostPort())
}

// sshConfig is a parsed ssh_config file; a nil *sshConfig has no entries.
type sshConfig struct {
	path string
	cfg  *ssh_config.Config
}

// loadSSHConfig reads the ssh_config named by Config.ConfigFile: "" is
// ~/.ssh/config when it exists, "none" is nothing, anything else must exist.
func loadSSHConfig(name string) (*sshConfig, error) {
	if name == ConfigFileNone {
		return nil, nil
	}
	explicit := name != ""
	if !explicit {
		name = filepath.Join(homeDir(), ".ssh", "config")
	}
	name = expandTilde(name)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ssh config: %w", err)
	}
	cfg, err := ssh_config.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse ssh config %s: %w", name, err)
	}
	return &sshConfig{path: name, cfg: cfg}, nil
}

func (s *sshConfig) get(alias, key string) (string, error) {
	if s == nil {
		return "", nil
	}
	v, err := s.cfg.Get(alias, key)
	if err != nil {
		return "", fmt.Errorf("ssh config %s: host %s: %s: %w", s.path, alias, key, err)
	}
	return v, nil
}

func (s *sshConfig) getAll(alias, key string) ([]string, error) {
	if s == nil {
		return nil, nil
	}
	v, err := s.cfg.GetAll(alias, key)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: host %s: %s: %w", s.path, alias, key, err)
	}
	return v, nil
}

// resolveTarget ranks the inventory's host, the ssh: section and
// ssh_config for a deploy target (see Config).
func resolveTarget(cfg Config, sc *sshConfig, t Target) (endpoint, error) {
	if t.Name == "" {
		return endpoint{}, errors.New("target has no name")
	}
	fromFile, err := lookup(sc, t.Name)
	if err != nil {
		return endpoint{}, err
	}
	ep := endpoint{name: t.Name, jumps: fromFile.jumps}
	ep.host = first(t.Address, fromFile.host, t.Name)
	ep.port = firstInt(t.Port, cfg.Port, fromFile.port, DefaultPort)
	ep.user = first(cfg.User, fromFile.user, currentUser())
	ep.identities = identities(cfg.IdentityFiles, fromFile.identities, ep)
	return ep, nil
}

// resolveJump resolves one ProxyJump hop ("[ssh://][user@]host[:port]").
// The ssh: section describes targets, not bastions: a hop takes its user
// and port from the hop itself, then ssh_config, and only then from the
// ssh: section's user and the default port.
func resolveJump(cfg Config, sc *sshConfig, spec string) (endpoint, error) {
	s := strings.TrimPrefix(spec, "ssh://")
	var user string
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, s = s[:i], s[i+1:]
	}
	host, port := s, 0
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return endpoint{}, fmt.Errorf("proxy jump %q: bad port %q", spec, p)
		}
		host, port = h, n
	}
	if host == "" {
		return endpoint{}, fmt.Errorf("proxy jump %q: no host", spec)
	}
	fromFile, err := lookup(sc, host)
	if err != nil {
		return endpoint{}, err
	}
	ep := endpoint{name: host, jumps: fromFile.jumps}
	ep.host = first(fromFile.host, host)
	ep.port = firstInt(port, fromFile.port, DefaultPort)
	ep.user = first(user, fromFile.user, cfg.User, currentUser())
	ep.identities = identities(cfg.IdentityFiles, fromFile.identities, ep)
	return ep, nil
}

// lookup reads what ssh_config says about alias; zero fields are unset.
func lookup(sc *sshConfig, alias string) (endpoint, error) {
	var ep endpoint
	var err error
	if ep.host, err = sc.get(alias, "HostName"); err != nil {
		return ep, err
	}
	ep.host = expandTokens(ep.host, map[byte]string{'h': alias})
	if ep.user, err = sc.get(alias, "User"); err != nil {
		return ep, err
	}
	port, err := sc.get(alias, "Port")
	if err != nil {
		return ep, err
	}
	if port != "" {
		if ep.port, err = strconv.Atoi(port); err != nil || ep.port < 1 || ep.port > 65535 {
			return ep, fmt.Errorf("ssh config %s: host %s: bad Port %q", sc.path, alias, port)
		}
	}
	if ep.identities, err = sc.getAll(alias, "IdentityFile"); err != nil {
		return ep, err
	}
	jump, err := sc.get(alias, "ProxyJump")
	if err != nil {
		return ep, err
	}
	if jump != "" && !strings.EqualFold(jump, "none") {
		for _, hop := range strings.Split(jump, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				ep.jumps = append(ep.jumps, hop)
			}
		}
	}
	return ep, nil
}

// identities lists the key files to offer: the ssh: section's, then
// ssh_config's (tokens expanded), or the default names that exist.
func identities(fromCfg, fromFile []string, ep endpoint) []string {
	tokens := map[byte]string{'d': homeDir(), 'u': currentUser(), 'h': ep.host, 'r': ep.user, 'n': ep.name}
	var out []string
	for _, f := range fromCfg {
		out = append(out, expandTilde(expandTokens(f, tokens)))
	}
	for _, f := range fromFile {
		out = append(out, expandTilde(expandTokens(f, tokens)))
	}
	if len(out) > 0 {
		return out
	}
	for _, n := range defaultIdentityNames {
		p := filepath.Join(homeDir(), ".ssh", n)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// expandTokens replaces ssh_config %-tokens; %% is a literal %. Unknown
// tokens are left as written.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstInt(vals ...int) int {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}
