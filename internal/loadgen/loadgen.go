package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxSamples bounds the latencies kept for the summary; requests beyond it
// are still counted.
const maxSamples = 1 << 20

// maxBody bounds how much of each answer is read (and discarded).
const maxBody = 1 << 20

// Run sends load as opts say and returns the report. It stops by itself after
// opts.Duration or opts.MaxRequests; cancelling ctx stops it early (requests
// cut short by the cancel are not counted). An error means invalid options.
func Run(ctx context.Context, opts Options) (Report, error) {
	if err := opts.Validate(); err != nil {
		return Report{}, fmt.Errorf("loadgen: %w", err)
	}
	opts = opts.withDefaults()
	client := &http.Client{Timeout: opts.Timeout}
	if opts.Client != nil {
		c := *opts.Client
		c.Timeout = opts.Timeout
		client = &c
	}
	r := &runner{opts: opts, client: client, ctx: ctx, agg: newAggregate()}
	return r.run(), nil
}

// runner is one run in progress.
type runner struct {
	opts   Options
	client *http.Client
	ctx    context.Context // the caller's: cancels in-flight requests
	agg    *aggregate
	issued atomic.Int64
}

func (r *runner) run() Report {
	stop, cancel := context.WithTimeout(r.ctx, r.opts.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	if r.opts.Rate > 0 {
		// A small backlog absorbs scheduling jitter; a tick that finds it
		// full is dropped, not delayed.
		work := make(chan struct{}, r.opts.Workers)
		for range r.opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					r.once()
				}
			}()
		}
		r.tick(stop, work)
		close(work)
	} else {
		for range r.opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for stop.Err() == nil && r.take() {
					r.once()
				}
			}()
		}
	}
	wg.Wait()
	return r.agg.report(time.Since(start))
}

// take reserves one request under MaxRequests.
func (r *runner) take() bool {
	n := r.issued.Add(1)
	return r.opts.MaxRequests == 0 || n <= int64(r.opts.MaxRequests)
}

// tick offers one request per rate interval to the workers until stop ends
// or the cap is reached; a tick that finds the backlog full is dropped.
func (r *runner) tick(stop context.Context, work chan<- struct{}) {
	interval := time.Duration(float64(time.Second) / r.opts.Rate)
	begin := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		select {
		case <-stop.Done():
			return
		case <-timer.C:
		}
		if !r.take() {
			return
		}
		select {
		case work <- struct{}{}:
		default:
			r.issued.Add(-1) // nothing was sent: the cap counts requests
			r.agg.drop()
		}
		timer.Reset(time.Until(begin.Add(time.Duration(i+1) * interval)))
	}
}

// once sends one request and records the outcome.
func (r *runner) once() {
	req, err := http.NewRequestWithContext(r.ctx, r.opts.Method, r.opts.URL, nil)
	if err != nil {
		r.agg.fail("transport", 0)
		return
	}
	t0 := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		if r.ctx.Err() != nil {
			return // cut short by the caller: not the target's fault
		}
		r.agg.fail(classify(err), time.Since(t0))
		return
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	d := time.Since(t0)
	switch {
	case err != nil && r.ctx.Err() != nil:
		return
	case err != nil:
		r.agg.fail(classify(err), d)
	case resp.StatusCode >= 500:
		r.agg.status(resp.StatusCode, d)
	default:
		r.agg.ok(resp.StatusCode, d)
	}
}

// classify names the kind of a transport error.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	}
	return "transport"
}

// aggregate collects outcomes from every worker.
type aggregate struct {
	mu        sync.Mutex
	rep       Report
	latencies []time.Duration
}

func newAggregate() *aggregate {
	return &aggregate{rep: Report{FailuresByKind: map[string]int64{}, StatusCounts: map[int]int64{}}}
}

func (a *aggregate) sample(d time.Duration) {
	a.rep.Requests++
	if len(a.latencies) < maxSamples {
		a.latencies = append(a.latencies, d)
	}
}

func (a *aggregate) ok(code int, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sample(d)
	a.rep.Successes++
	a.rep.StatusCounts[code]++
}

func (a *aggregate) status(code int, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sample(d)
	a.rep.Failures++
	a.rep.StatusCounts[code]++
	a.rep.FailuresByKind[fmt.Sprintf("status %d", code)]++
}

func (a *aggregate) fail(kind string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sample(d)
	a.rep.Failures++
	a.rep.FailuresByKind[kind]++
}

func (a *aggregate) drop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rep.Dropped++
}

func (a *aggregate) report(elapsed time.Duration) Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	rep := a.rep
	rep.Elapsed = elapsed
	rep.Latency = summarize(a.latencies)
	return rep
}
