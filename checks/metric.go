package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// Prometheus client bounds.
const (
	promQueryTimeout = 10 * time.Second // one query, within the check's timeout
	promMaxBody      = 4 << 20
)

// apiProbe compares one PromQL value with min and max, count times.
type apiProbe struct{ d Spec }

func (p apiProbe) run(ctx context.Context, e env) (outcome, error) {
	base, err := hosttmpl.Expand(p.d.Prometheus, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("prometheus: %w", err)
	}
	q, err := hosttmpl.Expand(p.d.Query, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("query: %w", err)
	}
	rq, err := hosttmpl.Expand(p.d.RequestsQuery, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("requests_query: %w", err)
	}
	prom := newPromClient(base)
	defer prom.close()
	out, err := measure(ctx, p.d, false, func(ctx context.Context) Measurement {
		if rq != "" {
			if m, ok := enoughRequests(ctx, prom, rq, p.d.MinRequests, "requests"); !ok {
				return m
			}
		}
		v, ok, err := prom.query(ctx, q)
		switch {
		case err != nil:
			return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: err.Error()}
		case !ok:
			return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: "no data"}
		}
		verdict, detail := judge(v, p.d.Min, p.d.Max)
		return Measurement{Verdict: verdict, Value: v, Detail: detail}
	})
	if err != nil {
		return out, fmt.Errorf("query %s: %w", q, err)
	}
	out.evidence = "query " + q + ": " + out.evidence
	return out, nil
}

// enoughRequests asks rq and returns an inconclusive measurement when it
// gives fewer than min requests (or nothing).
func enoughRequests(ctx context.Context, prom promClient, rq string, min float64, who string) (Measurement, bool) {
	n, ok, err := prom.query(ctx, rq)
	switch {
	case err != nil:
		return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: "requests_query: " + err.Error()}, false
	case !ok || n < min:
		if !ok {
			n = 0
		}
		return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: fmt.Sprintf("too few %s: %s < min_requests %s", who, fmtNum(n), fmtNum(min))}, false
	}
	return Measurement{}, true
}

// measure takes d.Count measurements d.Interval apart (also before the
// first when waitFirst) and judges them. It stops early when a limit is
// exceeded, and fails with ErrTimeout when ctx ends first.
func measure(ctx context.Context, d Spec, waitFirst bool, once func(context.Context) Measurement) (outcome, error) {
	a := analysis{lim: limitsOf(d)}
	for i := 0; i < d.Count; i++ {
		if i > 0 || waitFirst {
			if err := sleep(ctx, d.Interval); err != nil {
				saw := fmt.Sprintf("%d of %d measurements taken", len(a.ms), d.Count)
				if len(a.ms) > 0 {
					saw += ":\n" + a.describe()
				}
				if errors.Is(err, context.DeadlineExceeded) {
					return outcome{ms: a.ms}, fmt.Errorf("%w: %w: %s", ErrFailed, ErrTimeout, saw)
				}
				return outcome{ms: a.ms}, fmt.Errorf("%w: %s", err, saw)
			}
		}
		m := once(ctx)
		m.At = time.Now()
		if a.add(m) {
			break
		}
	}
	if _, err := a.verdict(); err != nil {
		return outcome{ms: a.ms}, err
	}
	return outcome{evidence: a.summary(), ms: a.ms}, nil
}

// promClient asks Prometheus's HTTP API for instant values.
type promClient struct {
	base string
	hc   *http.Client
}

func newPromClient(base string) promClient {
	t := &http.Transport{
		Proxy:                 nil, // Prometheus is asked directly
		DialContext:           (&net.Dialer{Timeout: promQueryTimeout}).DialContext,
		ResponseHeaderTimeout: promQueryTimeout,
	}
	return promClient{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: t, Timeout: promQueryTimeout}}
}

func (c promClient) close() { c.hc.CloseIdleConnections() }

// promResponse is the envelope of /api/v1/query.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// query evaluates q at the current time. It accepts a scalar or a vector of
// at most one sample; ok is false for no data (an empty vector or NaN).
func (c promClient) query(ctx context.Context, q string) (v float64, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, promQueryTimeout)
	defer cancel()
	form := url.Values{"query": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, promMaxBody))
	if err != nil {
		return 0, false, fmt.Errorf("read answer: %w", err)
	}
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return 0, false, fmt.Errorf("HTTP %d, not a Prometheus answer: %s", resp.StatusCode, excerpt(body, excerptBytes))
	}
	if pr.Status != "success" {
		return 0, false, fmt.Errorf("prometheus: %s: %s", pr.ErrorType, pr.Error)
	}
	var sample [2]any
	switch pr.Data.ResultType {
	case "scalar":
		if err := json.Unmarshal(pr.Data.Result, &sample); err != nil {
			return 0, false, fmt.Errorf("bad scalar: %w", err)
		}
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(pr.Data.Result, &vec); err != nil {
			return 0, false, fmt.Errorf("bad vector: %w", err)
		}
		switch len(vec) {
		case 0:
			return 0, false, nil
		case 1:
			sample = vec[0].Value
		default:
			return 0, false, fmt.Errorf("the query gives %d series, want one (aggregate it, e.g. with sum())", len(vec))
		}
	default:
		return 0, false, fmt.Errorf("the query gives a %s, want a scalar or one sample", pr.Data.ResultType)
	}
	s, _ := sample[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bad sample value %q", s)
	}
	if math.IsNaN(v) {
		return v, false, nil
	}
	return v, true, nil
}
