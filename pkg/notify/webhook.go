package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Webhook client bounds.
const (
	retryWaitMin = 100 * time.Millisecond // backoff between attempts
	retryWaitMax = time.Second            // also caps a server's Retry-After
	bodyExcerpt  = 200                    // characters of a failed answer's body in its error
	bodyRead     = 4096                   // bytes of it read
	userAgent    = "deployctl-notify"
)

// webhook is a ready Webhook.
type webhook struct {
	url     string
	headers map[string]string
	header  string  // of the secret
	secret  *secret // nil: none
	retries int
	timeout time.Duration
	http    *http.Client
	scrub   *scrubber
}

func newWebhook(w Webhook, sec *secret) *target {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: w.Timeout}).DialContext,
		TLSHandshakeTimeout:   w.Timeout,
		ResponseHeaderTimeout: w.Timeout,
		DisableKeepAlives:     true, // a few posts a rollout: no idle connections to go stale
	}
	secretValue := ""
	if sec != nil {
		secretValue = sec.value
	}
	h := &webhook{
		url:     w.URL,
		headers: w.Headers,
		header:  w.SecretHeader,
		secret:  sec,
		retries: *w.Retries,
		timeout: w.Timeout,
		scrub:   newScrubber(w.URL, secretValue),
		http: &http.Client{
			Transport: transport,
			Timeout:   w.Timeout,
			// A redirect could carry a custom secret header to another
			// host; a 3xx is an error instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return &target{
		label:   fmt.Sprintf("webhook %q", w.Name),
		on:      w.On,
		timeout: w.Timeout,
		scrub:   h.scrub,
		deliver: h.deliver,
	}
}

// attempts is what one delivery saw, for its error.
type attempts struct {
	n    int
	last string // the last attempt's status or error
}

func (a attempts) String() string {
	s := fmt.Sprintf("%d attempt", a.n)
	if a.n != 1 {
		s += "s"
	}
	if a.last != "" {
		s += "; last: " + a.last
	}
	return s
}

// deliver posts body, with retries, within ctx. The caller scrubs its
// error.
func (h *webhook) deliver(ctx context.Context, _ Event, body []byte) error {
	var seen attempts
	client := &retryablehttp.Client{
		HTTPClient:   h.http,
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: retryWaitMax,
		RetryMax:     h.retries,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			seen.n++
			switch {
			case err != nil:
				seen.last = err.Error()
			case resp != nil:
				seen.last = "status " + resp.Status
			}
			return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		},
		Backoff: func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
			return min(retryablehttp.DefaultBackoff(lo, hi, n, resp), hi)
		},
		// The last answer, whatever it is, is judged below.
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if resp != nil {
				return resp, nil
			}
			return nil, err
		},
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, h.url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	if h.secret != nil {
		req.Header.Set(h.header, h.secret.value)
	}
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return timeoutf("no success within its timeout %s (%s)", h.timeout, seen)
		case ctx.Err() != nil:
			return fmt.Errorf("cancelled: %v (%s)", context.Cause(ctx), seen)
		}
		if seen.last == err.Error() {
			seen.last = "" // said already
		}
		return fmt.Errorf("%v (%s)", err, seen)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil // delivered; the body does not matter
	}
	msg := fmt.Sprintf("status %s (%s)", resp.Status, attempts{n: seen.n})
	if ex := excerpt(resp.Body, h.scrub); ex != "" {
		msg += ": " + ex
	}
	return errors.New(msg)
}

// excerpt returns the start of a failed answer's body on one line. It
// reads a bounded amount, within the request's context, and masks secrets
// before it cuts, so that no part of one is left at the cut.
func excerpt(r io.Reader, scrub *scrubber) string {
	data, _ := io.ReadAll(io.LimitReader(r, bodyRead))
	s := scrub.clean(strings.ToValidUTF8(string(data), "?"))
	s = scrub.clean(strings.Join(strings.Fields(s), " "))
	if runes := []rune(s); len(runes) > bodyExcerpt {
		s = string(runes[:bodyExcerpt]) + "…"
	}
	return s
}
