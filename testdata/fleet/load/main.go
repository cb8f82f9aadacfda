// Command load sends bounded HTTP load with internal/loadgen and prints the
// report, for the demo: constant load through the fleet's HAProxy while a
// rollout runs.
//
//	go run ./testdata/fleet/load -url http://127.0.0.1:18080/ -rate 50 -duration 60s
//
// It exits 0 when every request succeeded, 1 when some failed (a transport
// error or a status >= 500), 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/deployctl/deployctl/internal/loadgen"
)

func main() {
	var o loadgen.Options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:18080/", "target URL")
	fs.Float64Var(&o.Rate, "rate", 50, "requests per second; 0 sends back to back with -workers")
	fs.IntVar(&o.Workers, "workers", loadgen.DefaultWorkers, "concurrent requests at most")
	fs.DurationVar(&o.Duration, "duration", loadgen.DefaultDuration, "how long to send")
	fs.IntVar(&o.MaxRequests, "max", 0, "stop after this many requests (0: no cap)")
	fs.DurationVar(&o.Timeout, "timeout", loadgen.DefaultTimeout, "bound on each request")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(rep)
	if rep.Failures > 0 {
		os.Exit(1)
	}
}
