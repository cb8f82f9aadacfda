package loadgen

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Defaults and limits for Options.
const (
	DefaultWorkers  = 8
	DefaultDuration = 10 * time.Second
	DefaultTimeout  = 2 * time.Second
	MaxDuration     = time.Hour
	MaxRate         = 10000
	MaxWorkers      = 1000
)

// Options describe one load run. Zero fields take the defaults.
type Options struct {
	URL         string        // target, http:// or https://
	Method      string        // default GET
	Rate        float64       // requests per second; 0 means Workers back to back
	Workers     int           // concurrent requests at most (DefaultWorkers)
	Duration    time.Duration // stop sending after this (DefaultDuration, at most MaxDuration)
	MaxRequests int           // stop after this many requests; 0 means no cap
	Timeout     time.Duration // bound on each request (DefaultTimeout)
	Client      *http.Client  // optional; its Timeout is overridden by Timeout
}

func (o Options) withDefaults() Options {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Validate reports every problem with o (after defaults) at once.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want http://HOST[:PORT]/PATH", o.URL))
	}
	if o.Rate < 0 || o.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("rate %v: want 0..%d per second", o.Rate, MaxRate))
	}
	if o.Workers < 0 || o.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers %d: want 1..%d", o.Workers, MaxWorkers))
	}
	if o.Duration < 0 || o.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration %s: want up to %s", o.Duration, MaxDuration))
	}
	if o.MaxRequests < 0 {
		errs = append(errs, fmt.Errorf("max requests %d: want 0 (no cap) or more", o.MaxRequests))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration", o.Timeout))
	}
	return errors.Join(errs...)
}
