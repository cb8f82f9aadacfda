package pool_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/deployctl/deployctl/pkg/pool"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, and returns their paths.
type testPKI struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pooltest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kb)
	}
	p := testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("deployctl", 3, x509.ExtKeyUsageClientAuth)
	return p
}

// TestEtcdTLSAndAuth runs the etcd backend against an etcd that wants a
// client certificate and a password: TLS files and auth from the config
// work, a wrong password is a clear error that never shows the password.
func TestEtcdTLSAndAuth(t *testing.T) {
	needServers(t, etcdBin)
	pki := newPKI(t)
	client := fmt.Sprintf("https://127.0.0.1:%d", freePort(t, "127.0.0.1"))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t, "127.0.0.1"))
	startProcess(t, "etcd-tls", etcdBin,
		"--name", "pooltls", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "pooltls="+peer, "--log-level", "warn",
		"--cert-file", pki.serverCert, "--key-file", pki.serverKey,
		"--trusted-ca-file", pki.ca, "--client-cert-auth")

	const password = "s3cret-Pa55"
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"
	tc, err := tlsFor(pki)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, TLS: tc, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eventually(t, "etcd over TLS answers", func() error {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := admin.Put(c, key, `{"pooled":"yes","weight":10}`)
		return err
	})
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", password); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}

	newEtcd := func(pw string) pool.Backend {
		pwFile := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return newBackend(t, pool.Config{Backend: pool.BackendEtcd, Etcd: pool.EtcdConfig{
			Endpoints: []string{client}, Username: "root", PasswordFile: pwFile,
			DialTimeout: 2 * time.Second, RequestTimeout: 2 * time.Second,
			TLS: pool.TLSConfig{CAFile: pki.ca, CertFile: pki.clientCert, KeyFile: pki.clientKey},
		}})
	}
	h := testHosts("h1")[0]

	t.Run("right password", func(t *testing.T) {
		b := newEtcd(password)
		p, err := b.Depool(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Repool(ctx, h, p); err != nil {
			t.Fatal(err)
		}
		if st, err := b.State(ctx, h); err != nil || st.Pooled != pool.PooledYes || st.Weight != 10 {
			t.Errorf("State = %s, %v", st, err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		b := newEtcd("wrong-" + password)
		_, err := b.State(ctx, h)
		if err == nil || errors.Is(err, pool.ErrUnreachable) {
			t.Fatalf("State with a wrong password: %v, want an authentication error", err)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "root") || !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name the user and key", err)
		}
		t.Log(err)
	})
	t.Run("no client certificate", func(t *testing.T) {
		b := newBackend(t, pool.Config{Backend: pool.BackendEtcd, Etcd: pool.EtcdConfig{
			Endpoints: []string{client}, DialTimeout: time.Second, RequestTimeout: time.Second,
			TLS: pool.TLSConfig{CAFile: pki.ca},
		}})
		if _, err := b.State(ctx, h); err == nil {
			t.Fatal("State without a client certificate: no error")
		} else {
			t.Log(err)
		}
	})
}

// tlsFor is the admin client's TLS configuration for the test etcd.
func tlsFor(p testPKI) (*tls.Config, error) {
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("no CA certificate")
	}
	cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}, nil
}
