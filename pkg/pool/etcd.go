package pool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Etcd is the etcd backend: one conftool key per host, whose JSON value says
// whether the host is pooled and with which weight. Writes are
// compare-and-swap on the key's revision, so a change made by someone else
// between our read and our write is never overwritten (ErrChanged).
//
// A write is verified on the load balancer when haproxy_status is set: depool
// waits until HAProxy shows the server out, then for its sessions to drain;
// repool waits until it is UP. Without it, the key is read back.
type Etcd struct {
	cfg           EtcdConfig
	password      string // never printed
	tls           *tls.Config
	drainTimeout  time.Duration
	verifyTimeout time.Duration
	lb            *Runtime // nil without haproxy_status
	log           *slog.Logger

	mu  sync.Mutex
	cli *clientv3.Client
}

var _ Backend = (*Etcd)(nil)

// NewEtcd returns the etcd backend for cfg (defaults applied). It reads the
// password and TLS files now, but connects on first use.
func NewEtcd(cfg Config) (*Etcd, error) {
	cfg = cfg.WithDefaults()
	b := &Etcd{
		cfg:           cfg.Etcd,
		drainTimeout:  cfg.DrainTimeout,
		verifyTimeout: cfg.VerifyTimeout,
		log:           slog.Default(),
	}
	if len(b.cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if b.cfg.PasswordFile != "" {
		data, err := os.ReadFile(b.cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("etcd password_file: %w", err)
		}
		b.password, _, _ = strings.Cut(string(data), "\n")
		if b.password == "" {
			return nil, fmt.Errorf("etcd password_file %s: empty", b.cfg.PasswordFile)
		}
	}
	var err error
	if b.tls, err = tlsConfig(b.cfg); err != nil {
		return nil, err
	}
	if b.cfg.HAProxyStatus != "" {
		if b.lb, err = NewRuntime(b.cfg.HAProxyStatus, b.cfg.RequestTimeout); err != nil {
			return nil, err
		}
		if err := checkName(b.cfg.HAProxyBackend); err != nil {
			return nil, fmt.Errorf("etcd haproxy_backend: %w", err)
		}
	}
	return b, nil
}

// tlsConfig builds the client TLS configuration, or nil for plain http.
func tlsConfig(c EtcdConfig) (*tls.Config, error) {
	https := false
	for _, ep := range c.Endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if !https && c.TLS == (TLSConfig{}) {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd tls ca_file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd tls ca_file %s: no PEM certificate", c.TLS.CAFile)
		}
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd tls cert_file/key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// client connects on first use (and again after a failed attempt).
func (b *Etcd) client() (*clientv3.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cli != nil {
		return b.cli, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   b.cfg.Endpoints,
		DialTimeout: b.cfg.DialTimeout,
		TLS:         b.tls,
		Username:    b.cfg.Username,
		Password:    b.password,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, b.etcdErr(context.Background(), err, b.cfg.DialTimeout)
	}
	b.cli = cli
	return cli, nil
}

// Close closes the etcd connection.
func (b *Etcd) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cli == nil {
		return nil
	}
	err := b.cli.Close()
	b.cli = nil
	return err
}

// etcdErr words an etcd client error; no answer in time is ErrUnreachable.
func (b *Etcd) etcdErr(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	eps := strings.Join(b.cfg.Endpoints, ",")
	code := status.Code(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded), code == codes.DeadlineExceeded, code == codes.Unavailable:
		return fmt.Errorf("%w: etcd %s did not answer within %s: %v", ErrUnreachable, eps, timeout, err)
	case errors.Is(err, rpctypes.ErrAuthFailed), code == codes.Unauthenticated, code == codes.PermissionDenied:
		return fmt.Errorf("etcd %s as user %q: %w", eps, b.cfg.Username, err)
	}
	return fmt.Errorf("etcd %s: %w", eps, err)
}

// key fills the key template for h.
func (b *Etcd) key(h Host) (string, error) {
	k, err := h.expand(b.cfg.Key)
	if err != nil {
		return "", fmt.Errorf("etcd key: %w", err)
	}
	return k, nil
}

// read gets and parses the host's value, with the key's mod revision.
func (b *Etcd) read(ctx context.Context, key string) (value, []byte, int64, error) {
	cli, err := b.client()
	if err != nil {
		return value{}, nil, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, key)
	if err != nil {
		return value{}, nil, 0, b.etcdErr(ctx, err, b.cfg.RequestTimeout)
	}
	if len(resp.Kvs) == 0 {
		return value{}, nil, 0, ErrMissingKey
	}
	kv := resp.Kvs[0]
	v, err := parseValue(kv.Value)
	return v, kv.Value, kv.ModRevision, err
}

// swap writes val if the key is still at revision rev.
func (b *Etcd) swap(ctx context.Context, key string, rev int64, val []byte) error {
	cli, err := b.client()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	fence := fenceOf(ctx).Cmps
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}, fence...)
	txn := cli.Txn(rctx).If(cmps...).Then(clientv3.OpPut(key, string(val)))
	if len(fence) > 0 {
		// On failure, tell a moved key from a lost lock: the fence
		// alone, again, in the same revision.
		txn = txn.Else(clientv3.OpTxn(fence, nil, nil))
	}
	resp, err := txn.Commit()
	if err != nil {
		return b.etcdErr(ctx, err, b.cfg.RequestTimeout)
	}
	if !resp.Succeeded {
		if len(fence) > 0 && len(resp.Responses) > 0 {
			if inner := resp.Responses[0].GetResponseTxn(); inner != nil && !inner.Succeeded {
				return fmt.Errorf("%w; nothing written", ErrFenced)
			}
		}
		return fmt.Errorf("%w: the key changed after we read it at revision %d; nothing written", ErrChanged, rev)
	}
	return nil
}

// lbServer fills the haproxy_server template for h.
func (b *Etcd) lbServer(h Host) (string, error) {
	s, err := h.expand(b.cfg.HAProxyServer)
	if err != nil {
		return "", fmt.Errorf("etcd haproxy_server: %w", err)
	}
	return s, checkName(s)
}

// where names the host's key (and LB server) in errors.
func (b *Etcd) where(key, srv string) string {
	if b.lb == nil {
		return "etcd key " + key
	}
	return "etcd key " + key + ", haproxy " + b.cfg.HAProxyBackend + "/" + srv
}

// State reads the host's key and, with haproxy_status, the LB's view of it.
func (b *Etcd) State(ctx context.Context, h Host) (State, error) {
	key, srv, err := b.names(h)
	if err != nil {
		return State{}, fmt.Errorf("state %s: %w", h.Name, err)
	}
	v, _, _, err := b.read(ctx, key)
	if err != nil {
		return State{}, fmt.Errorf("state %s (%s): %w", h.Name, b.where(key, srv), err)
	}
	st := State{Pooled: v.pooled, Weight: v.weight}
	if b.lb != nil {
		s, err := b.lb.Server(ctx, b.cfg.HAProxyBackend, srv)
		if err != nil {
			return State{}, fmt.Errorf("state %s (%s): %w", h.Name, b.where(key, srv), err)
		}
		st.LB, st.Sessions, st.Up = s.Status, s.Sessions, s.Up()
	}
	return st, nil
}

func (b *Etcd) names(h Host) (key, srv string, err error) {
	if key, err = b.key(h); err != nil {
		return "", "", err
	}
	if b.lb != nil {
		srv, err = b.lbServer(h)
	}
	return key, srv, err
}

// Depool sets pooled to "no" (keeping every other field), then verifies and
// drains: see Etcd.
func (b *Etcd) Depool(ctx context.Context, h Host) (Prior, error) {
	p := Prior{Host: h.Name}
	key, srv, err := b.names(h)
	if err != nil {
		return p, fmt.Errorf("depool %s: %w", h.Name, err)
	}
	fail := func(err error) (Prior, error) {
		return p, fmt.Errorf("depool %s (%s): %w", h.Name, b.where(key, srv), err)
	}
	v, raw, rev, err := b.read(ctx, key)
	if err != nil {
		return fail(err)
	}
	p.Before = State{Pooled: v.pooled, Weight: v.weight}
	if b.lb != nil {
		// Before writing: the LB must answer and know the server.
		s, err := b.lb.Server(ctx, b.cfg.HAProxyBackend, srv)
		if err != nil {
			return fail(err)
		}
		p.Before.LB, p.Before.Sessions, p.Before.Up = s.Status, s.Sessions, s.Up()
	}
	if v.pooled != PooledYes {
		return p, notPooled(h, b.where(key, srv), p.Before)
	}
	out := v.withPooled(PooledNo)
	p.Value, p.Wrote = string(raw), string(out)
	p.Changed = true // from here on the write may have happened
	if err := b.swap(ctx, key, rev, out); err != nil {
		// A lost swap wrote nothing: Repool must not touch what the
		// winner wrote. Any other failure may have written.
		p.Changed = !errors.Is(err, ErrChanged) && !errors.Is(err, ErrFenced)
		return fail(err)
	}
	if err := b.verify(ctx, key, srv, out, false); err != nil {
		return fail(err)
	}
	return p, nil
}

// Repool writes back the exact value Depool found, if the key still says
// pooled "no": whether Depool finished or was cut short after its write,
// before the LB showed it or while the server drained. A prior without a
// value (recorded before Depool read the key) sets pooled back to what
// Before says and keeps the key's other fields. See Backend for the other
// cases.
func (b *Etcd) Repool(ctx context.Context, h Host, p Prior) error {
	if !p.Changed {
		return nil
	}
	key, srv, err := b.names(h)
	if err != nil {
		return fmt.Errorf("repool %s: %w", h.Name, err)
	}
	fail := func(err error) error {
		return fmt.Errorf("repool %s (%s): %w", h.Name, b.where(key, srv), err)
	}
	provisional := p.Value == ""
	if !provisional {
		if _, err := parseValue([]byte(p.Value)); err != nil {
			return fail(fmt.Errorf("the prior value to restore: %w", err))
		}
	}
	v, raw, rev, err := b.read(ctx, key)
	if err != nil {
		return fail(err)
	}
	want := []byte(p.Value)
	if provisional {
		// A prior recorded before Depool read the key (the rollout was
		// killed during the depool): the value Depool found is not
		// known, so restore the pooled field it had and keep the rest.
		want = v.withPooled(p.Before.Pooled)
		if v.pooled != PooledNo {
			want = raw
		}
	}
	if b.lb != nil {
		if _, err := b.lb.Server(ctx, b.cfg.HAProxyBackend, srv); err != nil {
			return fail(err)
		}
	}
	switch {
	case v.pooled == PooledNo:
		if err := b.swap(ctx, key, rev, want); err != nil {
			return fail(err)
		}
	case v.pooled == p.Before.Pooled && v.weight == p.Before.Weight:
		// Already back (a repeated Repool): only verify.
	default:
		return fail(fmt.Errorf("%w: found pooled=%s weight=%d, expected pooled=no from our depool; left as it is",
			ErrChanged, v.pooled, v.weight))
	}
	if err := b.verify(ctx, key, srv, want, true); err != nil {
		return fail(err)
	}
	return nil
}

// verify waits until the write shows: on the LB when haproxy_status is set
// (then, for a depool, until the server's sessions drain), else by reading
// the key back.
func (b *Etcd) verify(ctx context.Context, key, srv string, want []byte, pooled bool) error {
	if b.lb == nil {
		_, raw, _, err := b.read(ctx, key)
		switch {
		case err != nil:
			return fmt.Errorf("read back: %w", err)
		case !sameJSON(raw, want):
			return fmt.Errorf("%w: read back %q, wrote %q", ErrChanged, raw, want)
		}
		return nil
	}
	var last ServerStatus
	err := waitFor(ctx, b.verifyTimeout, func(ctx context.Context) (bool, error) {
		s, err := b.lb.Server(ctx, b.cfg.HAProxyBackend, srv)
		last = s
		if pooled {
			return err == nil && !s.Maint() && !s.Drain() && s.FullyUp(), err
		}
		return err == nil && (s.Maint() || s.Drain()), err
	})
	if err != nil {
		want := "MAINT or DRAIN"
		if pooled {
			want = "UP"
		}
		return verifyErr(err, fmt.Sprintf("%s on haproxy %s (last %q)", want, b.lb, last.Status), b.verifyTimeout)
	}
	if pooled {
		return nil
	}
	err = waitFor(ctx, b.drainTimeout, func(ctx context.Context) (bool, error) {
		s, err := b.lb.Server(ctx, b.cfg.HAProxyBackend, srv)
		last = s
		return err == nil && s.Sessions == 0, err
	})
	switch {
	case errors.Is(err, errTimedOut):
		b.log.Warn("drain timeout passed", "key", key, "server", b.cfg.HAProxyBackend+"/"+srv, "sessions", last.Sessions, "drain_timeout", b.drainTimeout)
	case err != nil:
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}
