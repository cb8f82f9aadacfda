// Command exampleapp is the small HTTP service that deployctl's tests and demo
// deploy to the local fleet (testdata/fleet). It is built once by mkrepo.sh
// and committed as bin/exampleapp at every tag of the generated repository;
// each tag carries its own VERSION and MODE files, and the MODE decides how the
// service behaves:
//
//	good          v1, v2: healthy, every request answered 200
//	bad-start     logs FATAL and exits 1 right after start, never binds
//	bad-health    serves, but /healthz answers 503
//	bad-log       healthy, but logs ERROR and FATAL lines after start,
//	              including a multi-line traceback ("  at ..." lines)
//	bad-5xx       healthy, but every third request to / answers 500
//	bad-slowbind  binds its port only after the delay in the BIND_DELAY file
//	              (a Go duration such as "8s", or whole seconds; default 8s)
//
// The release directory is found from the executable's own resolved path
// (<release>/bin/exampleapp), so the service runs from whatever release
// directory it is checked out in; VERSION, MODE and BIND_DELAY are read from
// there.
//
// Flags:
//
//	--listen ADDR:PORT      required; the host's own address
//	--name NAME             the host name shown in answers (default: hostname)
//	--log FILE              append log lines to FILE (default: stderr)
//	--log-format text|json  text: "2026-11-25T10:00:00.000Z INFO message";
//	                        json: bunyan-like {"name":"exampleapp","level":30,...}
//	--config FILE           optional config file, see below
//
// The config file holds "key: value" lines; blank lines and lines starting
// with "#" are ignored. Known keys:
//
//	greeting: TEXT            shown in the answer to /
//	shutdown_timeout: 5s      bound on the graceful shutdown
//
// A malformed line, an unknown key or a bad value is a config that breaks the
// service: it logs FATAL and exits 1 at start.
//
// Endpoints: / (JSON with app, version, host, address, greeting), /version,
// /healthz ("ok" when healthy), /metrics (Prometheus text format:
// http_requests_total{code="..."} for requests other than /healthz and
// /metrics, and app_info{version="...",mode="..."} 1).
//
// On SIGTERM or SIGINT it stops accepting, finishes in-flight requests within
// shutdown_timeout, and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are the command-line flags.
type options struct {
	listen    string
	name      string
	logFile   string
	logFormat string
	config    string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("exampleapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "", "address:port to listen on (required)")
	fs.StringVar(&o.name, "name", "", "host name shown in answers (default: hostname)")
	fs.StringVar(&o.logFile, "log", "", "log file (default: stderr)")
	fs.StringVar(&o.logFormat, "log-format", formatText, "log format: text or json")
	fs.StringVar(&o.config, "config", "", "config file (key: value lines)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.listen == "" {
		return o, errors.New("--listen is required")
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return o, fmt.Errorf("--listen %q: %w", o.listen, err)
	}
	if o.logFormat != formatText && o.logFormat != formatJSON {
		return o, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.name == "" {
		h, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("hostname: %w", err)
		}
		o.name = h
	}
	return o, nil
}

// run starts the service and returns the process exit code.
func run(args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "exampleapp: %v\n", err)
		return 2
	}
	out := io.Writer(stderr)
	if opts.logFile != "" {
		f, err := os.OpenFile(opts.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "exampleapp: open log: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	log := newLogger(out, opts.logFormat)

	rel, err := loadRelease()
	if err != nil {
		log.Fatal(fmt.Sprintf("release: %v", err))
		return 1
	}
	cfg := defaultConfig()
	if opts.config != "" {
		if cfg, err = loadConfig(opts.config); err != nil {
			log.Fatal(fmt.Sprintf("config: %v", err))
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info(fmt.Sprintf("starting exampleapp %s (mode %s) from %s on %s", rel.Version, rel.Mode, rel.Dir, opts.listen))
	return serve(ctx, log, opts, rel, cfg)
}

// serve runs the mode's start-up behaviour, binds, serves until ctx ends,
// and shuts down gracefully.
func serve(ctx context.Context, log *logger, opts options, rel release, cfg config) int {
	switch rel.Mode {
	case modeBadStart:
		log.Fatal("cannot connect to storage backend at 127.0.0.1:9042: connection refused")
		return 1
	case modeBadSlowBind:
		log.Info(fmt.Sprintf("warming up caches for %s before binding", rel.BindDelay))
		select {
		case <-time.After(rel.BindDelay):
		case <-ctx.Done():
			log.Info("stopped before binding")
			return 0
		}
	}

	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		log.Fatal(fmt.Sprintf("listen: %v", err))
		return 1
	}
	app := newApp(rel, cfg, opts.name, opts.listen)
	srv := &http.Server{
		Handler:           app.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info(fmt.Sprintf("listening on %s", opts.listen))

	if rel.Mode == modeBadLog {
		go logErrors(ctx, log)
	}

	select {
	case err := <-errc:
		log.Fatal(fmt.Sprintf("serve: %v", err))
		return 1
	case <-ctx.Done():
	}
	log.Info(fmt.Sprintf("shutting down (bound %s)", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// The bound is over: drop what is left rather than hang the stop.
		log.Error(fmt.Sprintf("shutdown: %v; closing remaining connections", err))
		srv.Close()
	}
	log.Info("stopped")
	return 0
}
