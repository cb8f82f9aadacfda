package etcdstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deployctl/deployctl/pkg/state"
)

// Defaults for Config; a zero value in Config means the default.
const (
	DefaultPrefix         = "/deployctl/"
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultLeaseTTL       = 12 * time.Second
)

// Errors of the store, wrapped with what they concern. Test with errors.Is.
var (
	// ErrUnreachable: etcd did not answer within the request timeout.
	ErrUnreachable = errors.New("etcd unreachable")
	// ErrNotLocked: a write (Save, Append) by a store that does not hold
	// the environment's lock.
	ErrNotLocked = errors.New("this process does not hold the lock")
	// ErrLockLost: the lock was held but is no longer: its lease expired
	// or was revoked, or no keepalive answer came before the deadline.
	ErrLockLost = errors.New("lock lost")
	// ErrStateMoved: the state key changed since this process last read
	// or wrote it; nothing was written.
	ErrStateMoved = errors.New("the state record moved")
	// ErrNotEmpty: Migrate found a state already in etcd.
	ErrNotEmpty = errors.New("etcd already has a state")
)

// Config says where the shared state lives.
type Config struct {
	Endpoints      []string      `yaml:"endpoints"`       // required: http:// or https:// URLs
	Prefix         string        `yaml:"prefix"`          // default DefaultPrefix; a trailing / is added
	Username       string        `yaml:"username"`        // optional; needs PasswordFile
	PasswordFile   string        `yaml:"password_file"`   // its first line is the password; never printed
	TLS            TLS           `yaml:"tls"`             // client TLS files, all optional
	DialTimeout    time.Duration `yaml:"dial_timeout"`    // connecting (and authenticating)
	RequestTimeout time.Duration `yaml:"request_timeout"` // the bound on every etcd call
	LeaseTTL       time.Duration `yaml:"lease_ttl"`       // the lock's lease, whole seconds (rounded up)
	// LogDir is the deploy host's state directory: run logs stay local
	// (LogDir/envs/<env>/logs/<id>.log, as pkg/state lays them out).
	LogDir string `yaml:"-"`
}

// TLS holds the client TLS files for etcd; CertFile and KeyFile go
// together.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// WithDefaults returns c with every zero value replaced by its default and
// Prefix ending in "/".
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	for _, d := range []struct {
		p *time.Duration
		v time.Duration
	}{{&c.DialTimeout, DefaultDialTimeout}, {&c.RequestTimeout, DefaultRequestTimeout}, {&c.LeaseTTL, DefaultLeaseTTL}} {
		if *d.p == 0 {
			*d.p = d.v
		}
	}
	return c
}

// Store is the etcd state store shared by every deploy host and operator
// of an environment. It is safe for concurrent use. See the package doc.
type Store struct {
	cfg  Config
	cli  *clientv3.Client
	logs *state.Store // run logs, local to this deploy host

	closing atomic.Bool // Close was called: a lost lock is not revoked

	mu   sync.Mutex
	held map[string]*hold // env: the lock this Store holds (or lost and not yet released)

	// saveMu orders Load and Save, so that the state revision this
	// process last read or wrote (revs) and an unanswered write (pending)
	// stay true.
	saveMu  sync.Mutex
	revs    map[string]int64
	pending map[string][]byte
}

// Open checks cfg, reads the password file, opens the local log directory
// and connects to etcd, checking that it answers within RequestTimeout.
// Close the store when done; Close does not release a held lock (Release
// it first), so a lock left held expires with its lease.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd state: no endpoints")
	}
	if cfg.LogDir == "" {
		return nil, errors.New("etcd state: no log directory (run logs stay on the deploy host)")
	}
	if cfg.LeaseTTL < time.Second {
		return nil, fmt.Errorf("etcd state: lease_ttl %s: must be at least 1s", cfg.LeaseTTL)
	}
	if cfg.DialTimeout < 0 || cfg.RequestTimeout < 0 {
		return nil, errors.New("etcd state: dial_timeout and request_timeout must be positive")
	}
	password, err := readPassword(cfg)
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	logs, err := state.Open(cfg.LogDir)
	if err != nil {
		return nil, fmt.Errorf("etcd state: logs: %w", err)
	}
	s := &Store{cfg: cfg, logs: logs, held: map[string]*hold{}, revs: map[string]int64{}, pending: map[string][]byte{}}
	s.cli, err = clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		TLS:         tc,
		Username:    cfg.Username,
		Password:    password,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, s.etcdErr(ctx, "etcd state: connect", err)
	}
	rctx, cancel := s.rctx(ctx)
	defer cancel()
	if _, err := s.cli.Get(rctx, cfg.Prefix, clientv3.WithCountOnly()); err != nil {
		s.cli.Close()
		return nil, s.etcdErr(ctx, "etcd state: connect", err)
	}
	return s, nil
}

// readPassword reads the first line of the password file.
func readPassword(cfg Config) (string, error) {
	switch {
	case cfg.PasswordFile == "" && cfg.Username == "":
		return "", nil
	case cfg.PasswordFile == "":
		return "", fmt.Errorf("etcd state: username %q needs password_file", cfg.Username)
	case cfg.Username == "":
		return "", errors.New("etcd state: password_file needs a username")
	}
	data, err := os.ReadFile(cfg.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("etcd state password_file: %w", err)
	}
	pw, _, _ := strings.Cut(string(data), "\n")
	if pw = strings.TrimSuffix(pw, "\r"); pw == "" {
		return "", fmt.Errorf("etcd state password_file %s: empty", cfg.PasswordFile)
	}
	return pw, nil
}

// tlsConfig is the client TLS configuration (etcd's own loader), or nil
// for plain http endpoints without TLS files.
func tlsConfig(cfg Config) (*tls.Config, error) {
	https := cfg.TLS != TLS{}
	for _, ep := range cfg.Endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if !https {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, TrustedCAFile: cfg.TLS.CAFile, Logger: zap.NewNop()}
	tc, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd state tls: %w", err)
	}
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	return tc, nil
}

// Close closes the etcd connection. A lock still held is not released: its
// keepalive stops and its lease expires after its TTL.
func (s *Store) Close() error {
	s.closing.Store(true)
	return s.cli.Close()
}

// Client is the store's etcd client, for a caller's own fenced
// transactions (see Fence).
func (s *Store) Client() *clientv3.Client { return s.cli }

// rctx bounds one etcd call.
func (s *Store) rctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// etcdErr words a failed etcd call; no answer in time is ErrUnreachable.
// It never includes the password.
func (s *Store) etcdErr(ctx context.Context, what string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	eps := strings.Join(s.cfg.Endpoints, ",")
	code := status.Code(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded), code == codes.DeadlineExceeded, code == codes.Unavailable:
		return fmt.Errorf("%s: %w: etcd %s did not answer within %s: %v", what, ErrUnreachable, eps, s.cfg.RequestTimeout, err)
	case errors.Is(err, rpctypes.ErrAuthFailed), code == codes.Unauthenticated, code == codes.PermissionDenied:
		return fmt.Errorf("%s: etcd %s as user %q: %w", what, eps, s.cfg.Username, err)
	}
	return fmt.Errorf("%s: etcd %s: %w", what, eps, err)
}

// Key names inside an environment's directory <prefix><env>/.
const (
	lockKey    = "lock"
	stateKey   = "state"
	historyDir = "history/"
	abortKey   = "abort"
)

// key is <prefix><env>/<name>.
func (s *Store) key(env, name string) string { return s.cfg.Prefix + env + "/" + name }

// validName is pkg/state's rule for environment names and rollout IDs, so
// that one name means one directory there and one key range here.
var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func checkName(what, name string) error {
	if !validName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("%w: %s %q: use letters, digits, '.', '_' and '-'", state.ErrBadName, what, name)
	}
	return nil
}

// LogPath is where the log of run id of env lives on this deploy host,
// exactly as pkg/state lays it out under LogDir.
func (s *Store) LogPath(env, id string) string { return s.logs.LogPath(env, id) }

// LogFile opens (creating, appending) the log of run id of env on this
// deploy host. The caller closes it.
func (s *Store) LogFile(env, id string) (io.WriteCloser, error) { return s.logs.LogFile(env, id) }
