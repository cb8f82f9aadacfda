// Command poolsync applies conftool-style pool state from etcd to HAProxy, as
// PyBal or confd do in production, so that a depool through etcd really drains
// traffic on the local test fleet (testdata/fleet).
//
// Every key under --prefix names one server of --backend by its last path
// segment and holds conftool's JSON value, {"pooled":"yes","weight":10}:
//
//	pooled yes       set weight B/S W; set server B/S state ready
//	pooled no        set server B/S state drain
//	pooled inactive  set server B/S state maint
//	key deleted      set server B/S state maint
//
// It watches the prefix and also re-applies every key each --resync, which
// heals missed events and an HAProxy restart. Every etcd and HAProxy call is
// bounded by --timeout. It stops on SIGTERM or SIGINT.
//
//	poolsync --etcd http://127.0.0.1:12379 \
//	  --prefix /conftool/v1/pools/dc1/appserver/exampleapp/ \
//	  --backend exampleapp --haproxy tcp://127.0.0.1:19999
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Flag defaults.
const (
	defaultResync  = 5 * time.Second
	defaultTimeout = 2 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are the command-line flags.
type options struct {
	endpoints []string
	prefix    string
	backend   string
	haproxy   string
	resync    time.Duration
	timeout   time.Duration
	verbose   bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var endpoints string
	fs := flag.NewFlagSet("poolsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&endpoints, "etcd", "", "etcd endpoints, comma-separated (required)")
	fs.StringVar(&o.prefix, "prefix", "", "key prefix whose keys name the servers (required)")
	fs.StringVar(&o.backend, "backend", "", "HAProxy backend (required)")
	fs.StringVar(&o.haproxy, "haproxy", "", "HAProxy runtime API: tcp://HOST:PORT or unix:///PATH (required)")
	fs.DurationVar(&o.resync, "resync", defaultResync, "period of the full re-apply")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "bound on each etcd and HAProxy call")
	fs.BoolVar(&o.verbose, "v", false, "log every command")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.endpoints = append(o.endpoints, e)
		}
	}
	if len(o.endpoints) == 0 {
		errs = append(errs, errors.New("--etcd is required"))
	}
	if o.prefix == "" {
		errs = append(errs, errors.New("--prefix is required"))
	} else if !strings.HasSuffix(o.prefix, "/") {
		o.prefix += "/"
	}
	if o.backend == "" {
		errs = append(errs, errors.New("--backend is required"))
	}
	if _, err := newRuntimeAPI(o.haproxy, o.timeout); err != nil {
		errs = append(errs, fmt.Errorf("--haproxy: %w", err))
	}
	if o.resync <= 0 {
		errs = append(errs, errors.New("--resync must be positive"))
	}
	if o.timeout <= 0 {
		errs = append(errs, errors.New("--timeout must be positive"))
	}
	return o, errors.Join(errs...)
}

func run(args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "poolsync: %v\n", err)
		return 2
	}
	lv := slog.LevelInfo
	if opts.verbose {
		lv = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   opts.endpoints,
		DialTimeout: opts.timeout,
	})
	if err != nil {
		log.Error("etcd client", "err", err)
		return 1
	}
	defer cli.Close()
	lb, err := newRuntimeAPI(opts.haproxy, opts.timeout)
	if err != nil {
		log.Error("haproxy runtime api", "err", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	s := &syncer{
		kv:      cli,
		watcher: cli,
		lb:      lb,
		prefix:  opts.prefix,
		backend: opts.backend,
		resync:  opts.resync,
		timeout: opts.timeout,
		log:     log,
		applied: map[string]string{},
	}
	log.Info("poolsync started", "etcd", strings.Join(opts.endpoints, ","), "prefix", opts.prefix,
		"backend", opts.backend, "haproxy", opts.haproxy)
	s.Run(ctx)
	log.Info("poolsync stopped")
	return 0
}
