package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// HTTP client bounds.
const (
	httpMaxBody      = 1 << 20                // body bytes read and judged
	httpRetryWaitMin = 100 * time.Millisecond // backoff between attempts
	httpRetryWaitMax = 2 * time.Second
)

// httpProbe asks one endpoint and judges the answer.
type httpProbe struct {
	d      Spec
	bodyRe *regexp.Regexp
}

func newHTTPProbe(d Spec) (*httpProbe, error) {
	p := &httpProbe{d: d}
	if d.BodyRegex != "" {
		re, err := regexp.Compile(d.BodyRegex)
		if err != nil {
			return nil, fmt.Errorf("body_regex: %w", err)
		}
		p.bodyRe = re
	}
	return p, nil
}

// httpWant is the filled-in expectation for one host.
type httpWant struct {
	url, host, contains, jsonValue string
	headers                        map[string]string
}

func (p *httpProbe) fill(vars hosttmpl.Vars) (httpWant, error) {
	w := httpWant{headers: map[string]string{}}
	for _, f := range []struct {
		name string
		in   string
		out  *string
	}{{"url", p.d.URL, &w.url}, {"host_header", p.d.HostHeader, &w.host}, {"body_contains", p.d.BodyContains, &w.contains}, {"json_value", p.d.JSONValue, &w.jsonValue}} {
		v, err := hosttmpl.Expand(f.in, vars)
		if err != nil {
			return w, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.out = v
	}
	for k, v := range p.d.Headers {
		x, err := hosttmpl.Expand(v, vars)
		if err != nil {
			return w, fmt.Errorf("headers.%s: %w", k, err)
		}
		w.headers[k] = x
	}
	return w, nil
}

// mismatch is an answer that did not meet the expectation; it is retried.
type mismatch struct{ what string }

func (m *mismatch) Error() string { return m.what }

func (p *httpProbe) run(ctx context.Context, e env) (outcome, error) {
	w, err := p.fill(e.vars)
	if err != nil {
		return outcome{}, err
	}
	shown := w.url
	if u, err := url.Parse(w.url); err == nil {
		shown = u.Redacted()
	}
	what := p.d.Method + " " + shown

	attempts := *p.d.Retries + 1
	perAttempt := p.d.Timeout / time.Duration(attempts)
	if dl, ok := ctx.Deadline(); ok {
		perAttempt = time.Until(dl) / time.Duration(attempts)
	}
	perAttempt = max(perAttempt, 100*time.Millisecond)
	transport := &http.Transport{
		Proxy:                 nil, // health checks go straight to the host
		DialContext:           (&net.Dialer{Timeout: perAttempt}).DialContext,
		TLSHandshakeTimeout:   perAttempt,
		ResponseHeaderTimeout: perAttempt,
		DisableKeepAlives:     true,
	}
	defer transport.CloseIdleConnections()

	var (
		n       int       // attempts made
		started time.Time // of the current attempt
		passed  string    // what the passing attempt saw
		last    error     // what the last failed attempt saw
	)
	client := &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     transport,
			Timeout:       perAttempt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryWaitMin: httpRetryWaitMin,
		RetryWaitMax: httpRetryWaitMax,
		RetryMax:     *p.d.Retries,
		// A Retry-After header must not stretch the wait: the timeout rules.
		Backoff: func(lo, hi time.Duration, i int, _ *http.Response) time.Duration {
			return retryablehttp.DefaultBackoff(lo, hi, i, nil)
		},
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if err == nil {
				return false, nil // an answer: the response handler judges it
			}
			last = err
			var m *mismatch
			if errors.As(err, &m) {
				return true, err
			}
			return retryablehttp.ErrorPropagatedRetryPolicy(ctx, nil, err)
		},
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, _ int) {
			n++
			started = time.Now()
		},
	}

	req, err := retryablehttp.NewRequestWithContext(ctx, p.d.Method, w.url, nil)
	if err != nil {
		return outcome{}, fmt.Errorf("%s: %w", what, err)
	}
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	if w.host != "" {
		req.Host = w.host
	}
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, httpMaxBody))
		took := time.Since(started)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		if bad := p.judge(w, resp.StatusCode, body, took); bad != "" {
			return &mismatch{what: bad}
		}
		passed = fmt.Sprintf("%d in %s, body %s", resp.StatusCode, took.Round(time.Millisecond), excerpt(body, excerptBytes))
		return nil
	})

	resp, err := client.Do(req)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil {
		return outcome{evidence: fmt.Sprintf("%s: %s (attempt %d of %d)", what, passed, n, attempts)}, nil
	}
	if last == nil {
		last = err
	}
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return outcome{}, fmt.Errorf("%w: %w: %s: no good answer in time (%d attempts); last: %v", ErrFailed, ErrTimeout, what, n, last)
	case ctx.Err() != nil:
		return outcome{}, fmt.Errorf("%s: %w (%d attempts); last: %v", what, ctx.Err(), n, last)
	case errors.As(last, &netErr) && netErr.Timeout():
		return outcome{}, fmt.Errorf("%w: %w: %s: %v (%d attempts)", ErrFailed, ErrTimeout, what, last, n)
	}
	return outcome{}, fmt.Errorf("%w: %s: %v (%d attempts)", ErrFailed, what, last, n)
}

// judge returns what is wrong with an answer, or "" when it meets every
// expectation.
func (p *httpProbe) judge(w httpWant, status int, body []byte, took time.Duration) string {
	var bad []string
	if status != p.d.ExpectStatus {
		bad = append(bad, fmt.Sprintf("status %d, want %d", status, p.d.ExpectStatus))
	}
	if w.contains != "" && !bytes.Contains(body, []byte(w.contains)) {
		bad = append(bad, fmt.Sprintf("body does not contain %q", w.contains))
	}
	if p.bodyRe != nil && !p.bodyRe.Match(body) {
		bad = append(bad, fmt.Sprintf("body does not match /%s/", p.bodyRe))
	}
	if p.d.JSONField != "" {
		got, err := jsonText(body, p.d.JSONField)
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case p.d.JSONValue != "" && got != w.jsonValue:
			bad = append(bad, fmt.Sprintf("%s is %q, want %q", p.d.JSONField, got, w.jsonValue))
		}
	}
	if p.d.MaxLatency > 0 && took > p.d.MaxLatency {
		bad = append(bad, fmt.Sprintf("took %s, max_latency %s", took.Round(time.Millisecond), p.d.MaxLatency))
	}
	if len(bad) == 0 {
		return ""
	}
	return strings.Join(bad, "; ") + "; body " + excerpt(body, excerptBytes)
}

// jsonText finds a dotted path in a JSON document and renders the value
// as text: strings unquoted, numbers and booleans as written, null as
// "null", objects and arrays as compact JSON.
func jsonText(doc []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("body is not JSON: %v", err)
	}
	v, ok := lookup(v, path)
	if !ok {
		return "", fmt.Errorf("%s is missing", path)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case nil:
		return "null", nil
	case bool:
		return fmt.Sprint(x), nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// lookup walks a dotted path through decoded JSON; a number indexes an array.
func lookup(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
